#![allow(dead_code)] // each test file uses a different part of it

//! `spawn_app`: the server of production, bound to port 0 in this process;
//! `process`: the binary as a child process.

use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;
use who_server::{Config, Server};

pub struct TestApp {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        let _ = self.thread.take().map(JoinHandle::join);
    }
}

/// Starts the server with default settings on a free port of 127.0.0.1.
pub fn spawn_app() -> TestApp {
    spawn_app_with(Config::default())
}

/// Starts the server with `config` (bind and port overridden) on its own
/// thread and runtime, as the binary does.
pub fn spawn_app_with(config: Config) -> TestApp {
    let config = Config {
        bind: Some(Ipv4Addr::LOCALHOST.into()),
        port: 0,
        ..config
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a runtime");
    let server = runtime
        .block_on(async { Server::bind(&config) })
        .expect("bind port 0");
    let addr = server.local_addr().expect("local address");
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        runtime
            .block_on(server.run(async {
                let _ = stopped.await;
            }))
            .expect("serve");
    });
    TestApp {
        addr,
        stop: Some(stop),
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

pub mod process;
