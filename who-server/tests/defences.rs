//! What a client can make the server hold: slow clients are cut off, and the
//! connection cap makes the excess wait instead of exhausting the server.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{spawn_app_with, with_header_timeout};
use testkit::{http_get, read_until_closed};
use who_server::Config;

#[test]
fn a_client_that_never_finishes_its_headers_is_disconnected_while_others_are_served() {
    let timeout = Duration::from_millis(500);
    let app = spawn_app_with(with_header_timeout(timeout));
    // Before the connect: the server's clock starts at its accept, later
    // still, so a client descheduled on a loaded machine never reads early.
    let started = Instant::now();
    let mut slow = TcpStream::connect(app.addr).unwrap();
    slow.write_all(b"GET /who HTTP/1.1\r\nHost: x\r\n").unwrap();

    assert_eq!(http_get(&app.url("/health")), (200, "ok".to_owned()));

    read_until_closed(&mut slow, Duration::from_secs(5));
    let waited = started.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(100),
        "cut off too early, after {waited:?}"
    );
}

#[test]
fn a_client_that_connects_and_says_nothing_is_disconnected_after_the_header_timeout() {
    let timeout = Duration::from_millis(500);
    let app = spawn_app_with(with_header_timeout(timeout));
    let started = Instant::now(); // before the connect, as above
    let mut idle = TcpStream::connect(app.addr).unwrap();
    read_until_closed(&mut idle, Duration::from_secs(5));
    // A timer fires late under load, never early: the lower bound is firm,
    // give or take the moment the server took the connection.
    let waited = started.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(100),
        "cut off too early, after {waited:?}"
    );
}

#[test]
fn connections_past_the_cap_wait_until_a_slot_frees() {
    let app = spawn_app_with(Config {
        max_connections: 1,
        ..Config::default()
    });
    let holder = TcpStream::connect(app.addr).unwrap();
    std::thread::sleep(Duration::from_millis(100)); // let the server take it

    let mut waiting = TcpStream::connect(app.addr).unwrap();
    waiting
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        waiting.read(&mut byte).is_err(),
        "served past the connection cap"
    );

    drop(holder);
    let answer =
        String::from_utf8(read_until_closed(&mut waiting, Duration::from_secs(5))).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}

#[test]
fn an_oversized_request_head_is_refused_and_the_server_keeps_serving() {
    let app = spawn_app_with(Config::default());
    let mut greedy = TcpStream::connect(app.addr).unwrap();
    let huge = format!(
        "GET /who HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let _ = greedy.write_all(huge.as_bytes()); // the server may hang up mid-write
    let answer = String::from_utf8_lossy(&read_until_closed(&mut greedy, Duration::from_secs(5)))
        .into_owned();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    assert_eq!(http_get(&app.url("/health")).0, 200);
}

#[test]
fn the_header_timeout_counts_from_the_last_answer_so_a_busy_keep_alive_connection_is_not_cut_off() {
    // The timer is one per connection and re-armed from the last answer
    // when it fires (watched.rs): requests every 100 ms for three timeouts
    // must all be answered on the one connection.
    let timeout = Duration::from_millis(500);
    let app = spawn_app_with(with_header_timeout(timeout));
    let mut client = TcpStream::connect(app.addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let mut answered = 0;
    let mut last_answer = started;
    while started.elapsed() < 3 * timeout {
        client
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut answer = [0u8; 512];
        let n = client.read(&mut answer).unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("ok"),
            "request {answered}: {answer:?}"
        );
        last_answer = Instant::now();
        answered += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    // Then idle: cut off one timeout after the last answer, not before.
    // Counted from when the answer was read, not from after the sleep: on a
    // loaded machine the sleep can outlast the timeout.
    read_until_closed(&mut client, Duration::from_secs(5));
    let waited = last_answer.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(100),
        "cut off too early, {waited:?} after the last answer ({answered} answered)"
    );
}
