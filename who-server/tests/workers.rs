//! Several workers: each a thread with its own runtime, all accepting from
//! one socket, one connection cap over all, one SIGTERM for all.

mod common;

use common::process;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::process::{exchange_on, thread_cpu, ServerProcess, BIN, GET_WHO};
use testkit::CommandExt;

/// Keep-alive GETs on `connections` connections for `time`; the answers.
fn load(addr: SocketAddr, connections: usize, time: Duration) -> u64 {
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let end = Instant::now() + time;
                let mut answers = 0;
                let mut buffer = [0u8; 1024];
                while Instant::now() < end {
                    stream
                        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                        .unwrap();
                    let n = stream.read(&mut buffer).unwrap();
                    assert!(buffer[..n].ends_with(b"\r\n\r\nok"), "{:?}", &buffer[..n]);
                    answers += 1;
                }
                answers
            })
        })
        .collect();
    clients.into_iter().map(|c| c.join().unwrap()).sum()
}

/// The names of the serving threads, in order.
fn worker_names(pid: u32) -> Vec<String> {
    worker_threads(pid)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// The serving threads (the main one and `worker-N`) with their CPU ticks.
/// A new thread names itself once it runs: until then it shows the
/// process's name, so this waits (at most 2 s) for one `who-server` alone.
fn worker_threads(pid: u32) -> Vec<(String, u64)> {
    let start = Instant::now();
    loop {
        let threads: Vec<(String, u64)> = thread_cpu(pid)
            .into_iter()
            .filter(|(name, _)| name == "who-server" || name.starts_with("worker-"))
            .collect();
        let main = threads
            .iter()
            .filter(|(name, _)| name == "who-server")
            .count();
        if main == 1 || start.elapsed() > Duration::from_secs(2) {
            return threads;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn with_two_workers_under_load_both_worker_threads_serve() {
    let server = process::start(&["--workers", "2"]);
    let before = worker_threads(server.pid());
    let names: Vec<&str> = before.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["who-server", "worker-1"]);
    assert!(load(server.addr, 16, Duration::from_secs(2)) > 0);
    let after = worker_threads(server.pid());
    for ((name, was), (_, is)) in before.iter().zip(&after) {
        assert!(
            is > was,
            "{name} used no CPU under load: {before:?} -> {after:?}"
        );
    }
}

#[test]
fn the_worker_count_can_come_from_the_environment() {
    let mut command = Command::new(BIN);
    command.env("WORKERS", "3");
    let server = ServerProcess::start_with(command, &[], Stdio::piped());
    let names = worker_names(server.pid());
    assert_eq!(names, ["who-server", "worker-1", "worker-2"]);
}

#[test]
fn by_default_there_is_one_worker_per_cpu_the_process_may_use() {
    let mut command = Command::new("taskset");
    command.args(["-c", "0", BIN]);
    let server = ServerProcess::start_with(command, &[], Stdio::piped());
    let names = worker_names(server.pid());
    assert_eq!(names, ["who-server"]);
}

#[test]
fn by_default_two_cpus_make_two_workers() {
    // Needs CPUs 0 and 1 (every machine these tests run on has two).
    let mut command = Command::new("taskset");
    command.args(["-c", "0,1", BIN]);
    let server = ServerProcess::start_with(command, &[], Stdio::piped());
    let names = worker_names(server.pid());
    assert_eq!(names, ["who-server", "worker-1"]);
}

#[test]
fn a_worker_count_of_0_is_a_usage_error() {
    let out = Command::new(BIN)
        .args(["--workers", "0"])
        .outcome()
        .expect_code(2);
    assert!(out.stderr.contains("--workers"), "{out}");
}

#[test]
fn the_connection_cap_is_one_across_all_workers() {
    let server = process::start(&["--workers", "2", "--max-connections", "2"]);
    // Eight keep-alive clients; whichever workers they land on, two are served.
    let mut clients: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    for client in &mut clients {
        client
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        client.set_nonblocking(true).unwrap();
    }
    // Wait for the two answers however slow a loaded machine makes them,
    // then give a third (which a cap per worker would allow) time to come.
    let mut answered = vec![false; clients.len()];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut settle: Option<Instant> = None;
    loop {
        for (client, done) in clients.iter_mut().zip(&mut answered) {
            let mut buffer = [0u8; 256];
            if !*done && matches!(client.read(&mut buffer), Ok(n) if n > 0) {
                *done = true;
            }
        }
        let count = answered.iter().filter(|&&a| a).count();
        if count >= 2 && settle.is_none() {
            settle = Some(Instant::now() + Duration::from_millis(500));
        }
        if settle.is_some_and(|s| Instant::now() > s) || Instant::now() > deadline {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let answered = answered.iter().filter(|&&a| a).count();
    assert_eq!(answered, 2);
}

#[test]
fn a_port_in_use_is_one_line_and_exit_1_whatever_the_workers() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Command::new(BIN)
        .args(["--bind", "127.0.0.1", "--port", &port, "--workers", "2"])
        .outcome()
        .expect_one_line_error(1);
    assert!(
        out.stderr
            .starts_with("who-server: cannot listen on 127.0.0.1:"),
        "{out}"
    );
    assert!(out.stdout.is_empty(), "{out}");
}

#[test]
fn a_second_server_cannot_join_the_port_of_one_with_several_workers() {
    let first = process::start(&["--workers", "2"]);
    let out = Command::new(BIN)
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &first.addr.port().to_string(),
            "--workers",
            "2",
        ])
        .outcome()
        .expect_one_line_error(1);
    assert!(out.stderr.contains("cannot listen on"), "{out}");
}

#[test]
fn sigterm_under_load_with_two_workers_loses_no_answered_request_and_exits_0() {
    let mut server = process::start(&["--workers", "2", "--drain-timeout", "3s"]);
    let addr = server.addr;
    let clients: Vec<_> = (0..16)
        .map(|_| {
            thread::spawn(move || {
                let end = Instant::now() + Duration::from_secs(10);
                let mut complete = 0;
                while Instant::now() < end {
                    // Refused once the listeners are closed: the end of this client.
                    let answer = match TcpStream::connect(addr) {
                        Ok(stream) => exchange_on(stream, GET_WHO),
                        Err(_) => break,
                    };
                    if answer.is_empty() {
                        break; // closed before answering: the listener was going away
                    }
                    // Anything the server started to answer, it answered whole.
                    assert!(answer.starts_with(b"HTTP/1.1 200 OK"), "{answer:?}");
                    let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                    let length: usize = String::from_utf8_lossy(&answer)
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("content-length: ")
                                .map(|n| n.parse().unwrap())
                        })
                        .unwrap();
                    assert_eq!(answer.len(), head_end + 4 + length, "{answer:?}");
                    complete += 1;
                }
                complete
            })
        })
        .collect();
    thread::sleep(Duration::from_secs(1));
    let before = worker_threads(server.pid());
    server.signal("TERM");
    let (status, took) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(4), "drain took {took:?}");
    let served: u32 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(served > 0, "no request was served before SIGTERM");
    assert_eq!(before.len(), 2, "{before:?}");
}

#[test]
fn sigterm_drains_every_worker_within_the_drain_timeout() {
    let mut server = process::start(&["--workers", "2", "--drain-timeout", "1s"]);
    // Requests half sent on many connections.
    let stalled: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr).unwrap();
            stream
                .write_all(b"GET /who HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    let (status, took) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    // One line per worker that still held a stalled connection: the
    // workers share one socket, so the 16 may have gone to either or both.
    let log = server.stderr();
    let lines = log
        .lines()
        .filter(|l| *l == "drain timeout of 1s reached, closing remaining connections")
        .count();
    assert!((1..=2).contains(&lines), "{log}");
    drop(stalled);
}
