//! `who-server check` against fake servers (std listeners on 127.0.0.1:0,
//! each in a thread): it decides on the status line alone, says what went
//! wrong, and ends within `--timeout` at every step.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::process::BIN;

/// How long a command that should end may run before it is killed and
/// the test fails: far beyond its normal time, even on a loaded machine.
const LIMIT: Duration = Duration::from_secs(20);
use testkit::{CommandExt, Outcome};

/// A server that answers one connection with `answer(stream)`, after
/// reading the request head.
fn fake_server(answer: impl FnOnce(&mut TcpStream) + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        answer(&mut stream);
    });
    addr
}

/// `who-server check --timeout TIMEOUT http://ADDR/health`, and how long it took.
fn check(addr: SocketAddr, timeout: &str) -> (Outcome, Duration) {
    let start = Instant::now();
    let out = Command::new(BIN)
        .args([
            "check",
            "--timeout",
            timeout,
            &format!("http://{addr}/health"),
        ])
        .outcome_within(LIMIT);
    (out, start.elapsed())
}

#[track_caller]
fn expect_failure(out: Outcome, message: &str) {
    let out = out.expect_one_line_error(1);
    assert!(out.stderr.contains(message), "expected {message:?}{out}");
}

#[test]
fn the_library_s_check_says_another_status_as_the_binary_does() {
    // The binary built with the tls feature calls check_tls: this is
    // check's own test there.
    let addr = fake_server(|stream| {
        let _ = stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\n\r\n");
    });
    let checked =
        who_server::check::check(&format!("http://{addr}/health"), Duration::from_secs(5));
    let error = checked.expect_err("a 503 is not healthy").to_string();
    assert_eq!(error, "answered 503 Service Unavailable, expected 200 OK");
}

#[test]
fn a_status_line_that_comes_in_several_writes_is_read_whole() {
    let addr = fake_server(|s| {
        for part in [
            "HTT",
            "P/1.1 2",
            "00 O",
            "K\r\n",
            "Content-Length: 0\r\n\r\n",
        ] {
            s.write_all(part.as_bytes()).unwrap();
            s.flush().unwrap();
            thread::sleep(Duration::from_millis(50));
        }
    });
    check(addr, "3s").0.expect_success();
}

#[test]
fn a_200_with_200_headers_is_healthy() {
    let addr = fake_server(|s| {
        let mut answer = String::from("HTTP/1.1 200 OK\r\n");
        (0..200).for_each(|i| answer.push_str(&format!("X-Header-{i}: {i}\r\n")));
        answer.push_str("Content-Length: 2\r\n\r\nok");
        let _ = s.write_all(answer.as_bytes());
    });
    check(addr, "3s").0.expect_success();
}

#[test]
fn a_200_whose_head_never_ends_is_healthy_once_its_status_line_came() {
    let addr = fake_server(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
        // Headers without end, until the check hangs up (bounded anyway).
        for i in 0..100_000 {
            if s.write_all(format!("X-More-{i}: yes\r\n").as_bytes())
                .is_err()
            {
                break;
            }
        }
    });
    let (out, took) = check(addr, "3s");
    out.expect_success();
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn an_answer_with_no_line_end_in_16_kib_is_not_http() {
    let addr = fake_server(|s| {
        let _ = s.write_all(&[b'x'; 64 * 1024]);
    });
    let (out, _) = check(addr, "3s");
    expect_failure(
        out,
        "the answer is not HTTP: no status line in the first 16384 bytes",
    );
}

#[test]
fn an_answer_that_is_not_http_is_said_with_its_first_line() {
    let addr = fake_server(|s| {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
    });
    expect_failure(
        check(addr, "3s").0,
        r#"the answer is not HTTP: "SSH-2.0-OpenSSH_9.6""#,
    );
}

#[test]
fn another_status_is_said_with_its_reason() {
    let addr = fake_server(|s| {
        let _ = s.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    });
    expect_failure(
        check(addr, "3s").0,
        "answered 503 Service Unavailable, expected 200 OK",
    );
}

#[test]
fn a_slow_answer_times_out_after_the_timeout_waiting_for_the_answer() {
    let addr = fake_server(|s| {
        thread::sleep(Duration::from_secs(4));
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
    });
    let (out, took) = check(addr, "1s");
    expect_failure(out, "timed out after 1s waiting for the answer");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_status_line_trickling_in_past_the_timeout_times_out() {
    let addr = fake_server(|s| {
        // Each byte within any single read timeout, the whole past the limit.
        for byte in b"HTTP/1.1 200 OK\r\n" {
            if s.write_all(&[*byte]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    let (out, took) = check(addr, "1s");
    expect_failure(out, "timed out after 1s waiting for the answer");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_half_close_before_the_status_line_is_said_as_such() {
    let addr = fake_server(|s| {
        let _ = s.write_all(b"HTTP/1.1 2");
        let _ = s.shutdown(Shutdown::Write);
        thread::sleep(Duration::from_secs(1));
    });
    expect_failure(
        check(addr, "3s").0,
        "connection closed before the status line",
    );
}

#[test]
fn a_server_whose_backlog_is_full_times_out_connecting() {
    // A listener that never accepts, with the smallest backlog, filled up:
    // the kernel then drops new SYNs, as an unroutable address would.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => fillers.push(stream),
            Err(_) => break,
        }
    }
    let (out, took) = check(addr, "1s");
    expect_failure(out, "timed out after 1s connecting");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_host_name_is_looked_up_within_the_timeout() {
    let addr = fake_server(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
    });
    let url = format!("http://localhost:{}/health", addr.port());
    Command::new(BIN)
        .args(["check", "--timeout", "3s", &url])
        .outcome_within(LIMIT)
        .expect_success();
}

#[test]
fn a_line_end_just_past_16_kib_is_not_looked_for() {
    let addr = fake_server(|s| {
        // A short first write makes the reads end off the 1 KiB grid, so
        // the last one must be cut to the limit to stop at 16384 bytes.
        let _ = s.write_all(&[b'x'; 100]);
        let _ = s.flush();
        thread::sleep(Duration::from_millis(500));
        let mut rest = vec![b'x'; 16 * 1024 - 100];
        rest.extend_from_slice(b"\r\n\r\n");
        let _ = s.write_all(&rest);
        thread::sleep(Duration::from_millis(500));
    });
    expect_failure(
        check(addr, "3s").0,
        "the answer is not HTTP: no status line in the first 16384 bytes",
    );
}

#[test]
fn a_status_line_ending_in_a_bare_line_feed_is_read_whole() {
    let addr = fake_server(|s| {
        let _ = s.write_all(b"HTTP/1.1 503 Service Unavailable\n\n");
    });
    expect_failure(
        check(addr, "3s").0,
        "answered 503 Service Unavailable, expected 200 OK",
    );
}

#[test]
fn a_check_stopped_and_continued_while_waiting_for_the_answer_goes_on_waiting() {
    // As `docker pause` then `unpause` would: on Linux, a stop and continue
    // makes a recv(2) with a timeout fail with EINTR, which is no failure.
    let addr = fake_server(|s| {
        thread::sleep(Duration::from_millis(1500));
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
    });
    let child = Command::new(BIN)
        .args([
            "check",
            "--timeout",
            "10s",
            &format!("http://{addr}/health"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on our own child.
    unsafe {
        assert_eq!(libc::kill(pid, libc::SIGSTOP), 0);
        thread::sleep(Duration::from_millis(100));
        assert_eq!(libc::kill(pid, libc::SIGCONT), 0);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn a_name_server_that_never_answers_is_given_up_on_at_the_timeout() {
    // In a mount namespace of its own, the check's resolv.conf names a
    // name server on a loopback address where a socket takes the queries
    // and never answers (root only: unshare and port 53).
    let silent = std::net::UdpSocket::bind("127.83.83.83:53").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.83.83.83\noptions timeout:30 attempts:1\n",
    )
    .unwrap();
    let start = Instant::now();
    let out = Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            r#"mount --bind "$0" /etc/resolv.conf && exec "$@""#,
        ])
        .arg(&resolv)
        .args([
            BIN,
            "check",
            "--timeout",
            "1s",
            "http://never-answered.test/health",
        ])
        .outcome_within(LIMIT);
    let took = start.elapsed();
    expect_failure(out, "timed out after 1s looking up the host name");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    drop(silent);
}
