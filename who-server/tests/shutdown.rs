//! A shutdown that loses no request (issue 24): after SIGTERM every request
//! that reached who-server is answered, keep-alive clients are told
//! `Connection: close`, and `--shutdown-delay` keeps serving (with `/health`
//! at 503) before the listener closes.

mod common;

use common::process;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::answer::{answer_within, Answer};
use common::process::{ServerProcess, BIN};
use common::spawn_app;

const GET_WHO: &[u8] = b"GET /who HTTP/1.1\r\nHost: x\r\n\r\n";
const GET_HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

/// What a looping keep-alive client saw.
#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    answered: u64,
    /// Requests sent on an open connection that closed with no answer.
    lost: u64,
}

/// `GET /who` in a loop on keep-alive connections, a new one whenever an
/// answer says `Connection: close`, until a connection is refused (or 15 s).
fn keep_alive_client(addr: SocketAddr) -> Tally {
    let mut tally = Tally::default();
    let end = Instant::now() + Duration::from_secs(15);
    'connections: while Instant::now() < end {
        let Ok(mut stream) = TcpStream::connect(addr) else {
            break;
        };
        while Instant::now() < end {
            if stream.write_all(GET_WHO).is_err() {
                tally.lost += 1;
                continue 'connections;
            }
            let Some(answer) = answer_within(&mut stream, Duration::from_secs(5)) else {
                tally.lost += 1;
                continue 'connections;
            };
            assert_eq!(answer.status(), "200", "{}", answer.head);
            tally.answered += 1;
            if answer.closes() {
                continue 'connections;
            }
        }
    }
    tally
}

/// 50 looping keep-alive clients, SIGTERM after 2 s; what they saw, and
/// the exit status with how long it took.
fn fifty_clients_then_sigterm(args: &[&str]) -> (Tally, Option<i32>) {
    let mut server = process::start(args);
    let addr = server.addr;
    let clients: Vec<_> = (0..50)
        .map(|_| thread::spawn(move || keep_alive_client(addr)))
        .collect();
    thread::sleep(Duration::from_secs(2));
    server.signal("TERM");
    let (status, _) = server.exit_within(Duration::from_secs(10));
    let tally = clients
        .into_iter()
        .map(|c| c.join().unwrap())
        .fold(Tally::default(), |sum, t| Tally {
            answered: sum.answered + t.answered,
            lost: sum.lost + t.lost,
        });
    (tally, status.code())
}

/// A request on a new connection, answered within 2 s.
fn ask(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(request).unwrap();
    answer_within(&mut stream, Duration::from_secs(2)).expect("an answer within 2 s")
}

/// The answer on `stream`, within 2 s: 200, saying `Connection: close`.
#[track_caller]
fn expect_200_with_close(stream: &mut TcpStream) {
    let answer = answer_within(stream, Duration::from_secs(2)).expect("an answer");
    assert_eq!(answer.status(), "200", "{}", answer.head);
    assert!(answer.closes(), "{}", answer.head);
}

#[test]
fn fifty_keep_alive_clients_lose_no_request_to_sigterm() {
    let (tally, code) = fifty_clients_then_sigterm(&["--workers", "2"]);
    eprintln!("{tally:?}");
    assert_eq!(tally.lost, 0, "{tally:?}");
    assert!(tally.answered > 50, "{tally:?}");
    assert_eq!(code, Some(0));
}

#[test]
fn fifty_keep_alive_clients_lose_no_request_to_sigterm_with_a_shutdown_delay() {
    let (tally, code) = fifty_clients_then_sigterm(&["--workers", "2", "--shutdown-delay", "1s"]);
    eprintln!("{tally:?}");
    assert_eq!(tally.lost, 0, "{tally:?}");
    assert!(tally.answered > 50, "{tally:?}");
    assert_eq!(code, Some(0));
}

#[test]
fn during_the_shutdown_delay_health_answers_503() {
    let server = process::start(&["--shutdown-delay", "3s"]);
    assert_eq!(ask(server.addr, GET_HEALTH).status(), "200");
    server.signal("TERM");
    thread::sleep(Duration::from_millis(300));
    let answer = ask(server.addr, GET_HEALTH);
    assert_eq!(answer.status(), "503", "{}", answer.head);
    assert_eq!(answer.body, b"shutting down");
}

#[test]
fn during_the_shutdown_delay_new_connections_are_served_and_told_to_close() {
    let server = process::start(&["--shutdown-delay", "3s"]);
    server.signal("TERM");
    thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        let answer = ask(server.addr, GET_WHO);
        assert_eq!(answer.status(), "200", "{}", answer.head);
        assert!(answer.closes(), "{}", answer.head);
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn after_the_shutdown_delay_new_connections_are_refused_and_the_server_exits_0() {
    let mut server = process::start(&["--shutdown-delay", "1s"]);
    let start = Instant::now();
    server.signal("TERM");
    let (status, _) = server.exit_within(Duration::from_secs(5));
    let took = start.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(took >= Duration::from_secs(1), "exited after {took:?}");
    assert!(TcpStream::connect(server.addr).is_err());
}

#[test]
fn the_shutdown_takes_at_most_the_delay_and_the_drain_timeout_and_half_a_second() {
    let mut server = process::start(&["--shutdown-delay", "1s", "--drain-timeout", "1s"]);
    // A request that never ends: the drain must give up on it.
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled
        .write_all(b"GET /who HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    server.signal("TERM");
    let (status, _) = server.exit_within(Duration::from_secs(5));
    let took = start.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(
        took >= Duration::from_secs(2) && took <= Duration::from_millis(2500),
        "took {took:?}"
    );
}

#[test]
fn a_second_signal_cuts_the_shutdown_delay_short() {
    let mut server = process::start(&["--shutdown-delay", "60s"]);
    server.signal("TERM");
    thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    server.signal("INT");
    let (status, _) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    let log = server.stderr();
    assert!(
        log.contains("shutdown delay cut short by a second signal: closing the listener"),
        "{log}"
    );
}

#[test]
fn the_log_says_when_the_shutdown_delay_starts_and_ends() {
    let mut server = process::start(&["--shutdown-delay", "500ms"]);
    server.signal("TERM");
    server.exit_within(Duration::from_secs(5));
    let log = server.stderr();
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "shutdown delay of 500ms started: /health answers 503, everything else is served",
            "shutdown delay over: closing the listener",
        ]
    );
}

#[test]
fn the_shutdown_delay_can_come_from_the_environment() {
    let mut command = Command::new(BIN);
    command.env("WHO_SHUTDOWN_DELAY", "2s");
    let mut server = ServerProcess::start_with(command, &[], std::process::Stdio::piped());
    server.signal("TERM");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(ask(server.addr, GET_HEALTH).status(), "503");
    let (status, _) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn without_a_shutdown_delay_sigterm_closes_the_listener_at_once() {
    let mut server = process::start(&[]);
    server.signal("TERM");
    let (status, took) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn a_request_half_sent_at_sigterm_is_answered_with_connection_close() {
    let mut server = process::start(&[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(b"GET /who HTTP/1.1\r\n").unwrap();
    thread::sleep(Duration::from_millis(100));
    server.signal("TERM");
    thread::sleep(Duration::from_millis(300));
    stream.write_all(b"Host: x\r\n\r\n").unwrap();
    expect_200_with_close(&mut stream);
    let (status, _) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_connection_queued_past_the_cap_at_sigterm_is_served_once_a_slot_frees_in_the_grace() {
    let mut server = process::start(&["--max-connections", "1"]);
    let mut holder = TcpStream::connect(server.addr).unwrap();
    holder.write_all(GET_WHO).unwrap();
    assert!(!answer_within(&mut holder, Duration::from_secs(2))
        .expect("an answer")
        .closes());
    // Completed by the kernel, in its queue: no slot is free.
    let mut queued = TcpStream::connect(server.addr).unwrap();
    queued.write_all(GET_WHO).unwrap();
    thread::sleep(Duration::from_millis(100));
    server.signal("TERM");
    thread::sleep(Duration::from_millis(100));
    // The holder's next answer says close, and its slot frees.
    holder.write_all(GET_WHO).unwrap();
    assert!(answer_within(&mut holder, Duration::from_secs(2))
        .expect("an answer")
        .closes());
    expect_200_with_close(&mut queued);
    let (status, _) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn an_idle_keep_alive_connection_gets_a_grace_for_one_more_request() {
    let mut server = process::start(&[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(GET_WHO).unwrap();
    assert!(!answer_within(&mut stream, Duration::from_secs(2))
        .expect("an answer")
        .closes());
    server.signal("TERM");
    // Idle at SIGTERM; a request sent 200 ms later is still answered.
    thread::sleep(Duration::from_millis(200));
    stream.write_all(GET_WHO).unwrap();
    let answer = answer_within(&mut stream, Duration::from_secs(2)).expect("an answer");
    assert!(answer.closes(), "{}", answer.head);
    let (status, _) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn an_idle_keep_alive_connection_is_closed_once_the_grace_is_over() {
    let mut server = process::start(&[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(GET_WHO).unwrap();
    answer_within(&mut stream, Duration::from_secs(2)).expect("an answer");
    let start = Instant::now();
    server.signal("TERM");
    let closed = testkit::read_until_closed(&mut stream, Duration::from_secs(3));
    let took = start.elapsed();
    assert!(closed.is_empty(), "{closed:?}");
    // The grace is 500 ms.
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(1500),
        "closed after {took:?}"
    );
    let (status, _) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_connection_that_ends_during_the_grace_does_not_hold_up_the_exit() {
    let mut server = process::start(&[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(b"GET /who HTTP/1.1\r\n").unwrap();
    thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    server.signal("TERM");
    // Time for the signal to reach the server: the answer then says close.
    thread::sleep(Duration::from_millis(150));
    stream.write_all(b"Host: x\r\n\r\n").unwrap();
    let answer = answer_within(&mut stream, Duration::from_secs(2)).expect("an answer");
    assert!(answer.closes(), "{}", answer.head);
    let (status, _) = server.exit_within(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    // Its last connection gone, the server stops at once, not at the end
    // of the 500 ms grace.
    assert!(
        start.elapsed() < Duration::from_millis(400),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_stopper_stops_the_server_in_process_as_sigterm_does() {
    let mut app = spawn_app();
    let addr = app.addr;
    assert_eq!(ask(addr, GET_HEALTH).status(), "200");
    assert!(app.stop_within(Duration::from_secs(2)));
    assert!(TcpStream::connect(addr).is_err());
}
