#![allow(dead_code)] // each test file uses a different part of it

//! `spawn_app`: the server of production, bound to port 0 in this process;
//! `process`: the binary as a child process.

use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;
use std::time::Duration;

use who_server::{Config, Server, Stopper};

pub struct TestApp {
    pub addr: SocketAddr,
    pub stopper: Stopper,
    thread: Option<JoinHandle<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server as SIGTERM does and waits for `serve` to return:
    /// true if it did within `limit` (a server that never stops fails the
    /// test instead of hanging it).
    pub fn stop_within(&mut self, limit: Duration) -> bool {
        self.stopper.stop();
        let start = std::time::Instant::now();
        let Some(thread) = self.thread.take() else {
            return true;
        };
        while !thread.is_finished() {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        thread.join().is_ok()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if !self.stop_within(Duration::from_secs(10)) && !std::thread::panicking() {
            panic!("the server at {} did not stop within 10 s", self.addr);
        }
    }
}

/// Starts the server with default settings on a free port of 127.0.0.1.
pub fn spawn_app() -> TestApp {
    spawn_app_with(Config::default())
}

/// Starts the server with `config` (bind and port overridden) as the
/// binary does, through `Server::serve`, on a thread of its own.
pub fn spawn_app_with(config: Config) -> TestApp {
    let config = Config {
        bind: Some(Ipv4Addr::LOCALHOST.into()),
        port: 0,
        ..config
    };
    let server = Server::bind(&config).expect("bind port 0");
    let addr = server.local_addr().expect("local address");
    let stopper = server.stopper();
    let (ready, running) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        server
            .serve(move |_| ready.send(()).expect("the test waits"))
            .expect("serve");
    });
    running.recv().expect("the server starts");
    TestApp {
        addr,
        stopper,
        thread: Some(thread),
    }
}

/// A config whose header timeout is short enough for a test to wait it out.
pub fn with_header_timeout(timeout: Duration) -> Config {
    Config {
        header_timeout: timeout,
        ..Config::default()
    }
}

pub mod answer;
pub mod process;
