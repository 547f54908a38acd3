//! The error log cannot stop the server: counted, summed up per interval,
//! written by a thread of its own. The binary runs as a real process on
//! 127.0.0.1; every loop is bounded in count and time.

mod common;

use common::process;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::process::{exchange, full_pipe, thread_cpu, ServerProcess, BIN, GET_WHO, MALFORMED};

/// Sends `count` malformed requests over `threads` threads, each on a new
/// connection, waiting for the server's answer or close each time.
fn malformed_requests(addr: SocketAddr, count: usize, threads: usize) {
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            thread::spawn(move || {
                (0..count / threads).for_each(|_| drop(exchange(addr, MALFORMED)))
            })
        })
        .collect();
    workers.into_iter().for_each(|w| w.join().unwrap());
}

/// The sum of the counts on the lines starting with `prefix`.
fn counted(log: &str, prefix: &str) -> u64 {
    log.lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .map(|rest| rest.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[test]
fn with_stderr_a_full_pipe_nobody_reads_20000_malformed_requests_leave_who_answering_and_sigterm_exits_0(
) {
    let (read, write) = full_pipe();
    let mut server =
        ServerProcess::start_with(Command::new(BIN), &["--log-interval", "100ms"], write);
    malformed_requests(server.addr, 20_000, 4);

    let start = Instant::now();
    let answer = exchange(server.addr, GET_WHO);
    let took = start.elapsed();
    assert!(answer.starts_with(b"HTTP/1.1 200 OK"), "{answer:?}");
    assert!(took < Duration::from_secs(1), "GET /who took {took:?}");

    server.signal("TERM");
    let (status, took) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(1), "SIGTERM took {took:?}");

    // The pipe never had room: the log thread was still waiting at exit.
    let mut log = Vec::new();
    std::fs::File::from(read).read_to_end(&mut log).unwrap();
    assert!(
        log.iter().all(|&b| b == b'.'),
        "{}",
        String::from_utf8_lossy(&log)
    );
}

#[test]
fn lines_held_up_by_a_blocked_stderr_are_written_with_every_count_once_it_drains() {
    let (read, write) = full_pipe();
    let mut server =
        ServerProcess::start_with(Command::new(BIN), &["--log-interval", "100ms"], write);
    malformed_requests(server.addr, 1000, 2);
    thread::sleep(Duration::from_millis(300));
    // Read the pipe from now on, as a log collector that caught up would.
    let reader = thread::spawn(move || {
        let mut log = Vec::new();
        std::fs::File::from(read).read_to_end(&mut log).unwrap();
        String::from_utf8_lossy(&log)
            .trim_start_matches('.')
            .to_owned()
    });
    malformed_requests(server.addr, 1000, 2);
    thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    let (status, _) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    drop(server);
    let log = reader.join().unwrap();
    assert_eq!(counted(&log, "bad request: refused "), 2000, "{log}");
    assert!(
        log.lines().all(|l| l.starts_with("bad request: refused ")),
        "{log}"
    );
}

#[test]
fn a_five_second_malformed_flood_writes_at_most_ten_lines() {
    let mut server = process::start(&[]);
    let addr = server.addr;
    let flood: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let end = Instant::now() + Duration::from_secs(5);
                let mut sent = 0u64;
                while Instant::now() < end && sent < 200_000 {
                    drop(exchange(addr, MALFORMED));
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    let sent: u64 = flood.into_iter().map(|t| t.join().unwrap()).sum();
    let log = server.stop();
    assert!(
        log.lines().count() <= 10,
        "{} lines:\n{log}",
        log.lines().count()
    );
    assert_eq!(counted(&log, "bad request: refused "), sent, "{log}");
}

#[test]
fn clients_cut_off_by_the_header_timeout_are_counted_but_idle_keep_alive_closes_are_not() {
    let mut server = process::start(&["--header-timeout", "1s", "--log-interval", "300ms"]);
    // Idle after an answer: routine.
    let mut idle = TcpStream::connect(server.addr).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 512];
    assert!(idle.read(&mut answer).unwrap() > 0);
    // Silent, and stalled mid-head: both cut off.
    let silent = TcpStream::connect(server.addr).unwrap();
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled.write_all(b"GET /health HTTP/1.1\r\nHo").unwrap();
    // And stalled mid-head after an answer on the same connection.
    let mut second = TcpStream::connect(server.addr).unwrap();
    second
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(second.read(&mut answer).unwrap() > 0);
    second.write_all(b"GET /he").unwrap();

    for mut stream in [&idle, &silent, &stalled, &second] {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    }
    thread::sleep(Duration::from_millis(500));
    let log = server.stop();
    assert_eq!(counted(&log, "header timeout: cut off "), 3, "{log}");
    assert!(
        log.lines()
            .all(|l| l.starts_with("header timeout: cut off ")),
        "{log}"
    );
}

#[test]
fn a_client_resetting_mid_request_is_counted_as_a_reset() {
    let mut server = process::start(&["--log-interval", "200ms"]);
    let stream = socket2::Socket::from(TcpStream::connect(server.addr).unwrap());
    (&stream)
        .write_all(b"GET /health HTTP/1.1\r\nHost")
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    // Linger 0: close sends RST instead of FIN.
    stream.set_linger(Some(Duration::ZERO)).unwrap();
    drop(stream);
    thread::sleep(Duration::from_millis(300));
    let log = server.stop();
    assert_eq!(log.trim_end().lines().count(), 1, "{log}");
    assert!(
        log.starts_with("connection reset: by 1 client in the last "),
        "{log}"
    );
}

#[test]
fn a_zero_log_interval_is_a_usage_error() {
    // Bounded: a server that took the flag would run on, so it is killed
    // after 5 s (and then fails the check of its exit code).
    let mut child = Command::new(BIN)
        .args(["--log-interval", "0s", "--bind", "127.0.0.1", "--port", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("must be more than 0"), "{stderr}");
}

#[test]
fn a_client_hanging_up_mid_request_logs_nothing() {
    let mut server = process::start(&["--log-interval", "100ms"]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost").unwrap();
    thread::sleep(Duration::from_millis(100));
    // A plain close (FIN): the server reads end of file mid-head.
    drop(stream);
    thread::sleep(Duration::from_millis(300));
    let log = server.stop();
    assert_eq!(log, "", "a hang-up is routine");
}

#[test]
fn a_malformed_request_is_counted_in_one_summary_line() {
    let mut server = process::start(&[]);
    let answer = exchange(server.addr, MALFORMED);
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 4"),
        "{answer:?}"
    );
    let log = server.stop();
    assert!(
        log.starts_with("bad request: refused 1 malformed request in the last "),
        "{log}"
    );
    assert_eq!(log.lines().count(), 1, "{log}");
}

#[test]
fn the_summary_comes_every_interval_while_the_server_runs() {
    let mut server = process::start(&["--log-interval", "200ms"]);
    drop(exchange(server.addr, MALFORMED));
    // Read stderr while the server runs: no stop, no final summary.
    let stderr = server.child.stderr.take().unwrap();
    let (line_sent, line) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut line);
        let _ = line_sent.send(line);
    });
    let line = line
        .recv_timeout(Duration::from_secs(5))
        .expect("no summary within 5 s of a 200 ms interval");
    assert!(
        line.starts_with("bad request: refused 1 malformed request in the last "),
        "{line}"
    );
}

#[test]
fn the_log_thread_sleeps_between_summaries() {
    let server = process::start(&["--log-interval", "10s"]);
    let log_ticks = || {
        thread_cpu(server.pid())
            .into_iter()
            .find(|(name, _)| name == "log")
            .map(|(_, ticks)| ticks)
    };
    // A new thread names itself once it runs: wait for it, at most 2 s.
    let start = Instant::now();
    let before = loop {
        match log_ticks() {
            Some(ticks) => break ticks,
            None if start.elapsed() < Duration::from_secs(2) => {
                thread::sleep(Duration::from_millis(10))
            }
            None => panic!("no thread named log"),
        }
    };
    thread::sleep(Duration::from_secs(2));
    let used = log_ticks().expect("the log thread") - before;
    // Asleep, it uses none; a thread that spun would get tens of ticks
    // even from a loaded machine.
    assert!(
        used < 10,
        "the log thread used {used} ticks of 10 ms in 2 s, idle"
    );
}
