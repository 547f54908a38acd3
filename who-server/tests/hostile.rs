//! who-server under hostile clients, load and faults, as a real process on a
//! port of 127.0.0.1. Every loop here is bounded in count and time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use testkit::{http_get, procfs, read_until_closed, wrk, CommandExt, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_who-server");

/// Peak resident memory of a process (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = procfs::status(pid).expect("read /proc/PID/status");
    status.vm_hwm_bytes.expect("VmHWM in /proc/PID/status") / 1024
}

/// Runs wrk against `url` with `connections` keep-alive connections for
/// `seconds`, with enough descriptors for them; returns wrk's own numbers.
fn wrk(url: &str, connections: u32, seconds: u64) -> wrk::Report {
    let load = wrk::Load {
        threads: 2,
        connections,
        duration: Duration::from_secs(seconds),
        timeout: Duration::from_secs(5),
    };
    let out = Command::new("bash")
        .args(["-c", r#"ulimit -n "$(ulimit -Hn)" && exec wrk "$@""#, "wrk"])
        .args(wrk::args(url, &load).expect("write wrk's report script"))
        .outcome()
        .expect_success();
    wrk::parse(&out.stdout).unwrap_or_else(|e| panic!("{e}{out}"))
}

/// Starts the server with room for many descriptors.
fn start_server(args: &[&str]) -> ServerProcess {
    let mut all = vec!["--bind", "127.0.0.1", "--port", "0"];
    all.extend_from_slice(args);
    ServerProcess::start_with_all_descriptors(BIN, &all)
}

fn answer_to(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(request); // the server may hang up before reading it all
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn slow_clients_sending_a_byte_at_a_time_do_not_delay_a_normal_client_and_are_cut_off() {
    let server = start_server(&["--header-timeout", "2s"]);
    let mut slow: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    let request = b"GET /who HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    // Feed every slow client one more byte, round after round, for a second.
    for round in 0..10 {
        for stream in &mut slow {
            let _ = stream.write_all(&request[round..=round]);
        }
        thread::sleep(Duration::from_millis(100));
    }
    let asked = Instant::now();
    assert_eq!(http_get(&server.url("/health")).0, 200);
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "a normal client waited {took:?}"
    );

    // Closed by the server (EOF or reset), not merely silent until our timeout.
    for stream in &mut slow {
        read_until_closed(stream, Duration::from_secs(5));
    }
    assert_eq!(http_get(&server.url("/health")).0, 200);
}

#[test]
fn a_thousand_keep_alive_connections_get_only_2xx_answers_in_bounded_memory() {
    let server = start_server(&[]);
    let report = wrk(&server.url("/who"), 1000, 5);
    assert!(report.requests > 0, "{report:?}");
    assert_eq!(report.errors.total(), 0, "{report:?}");
    let peak = peak_rss_kib(server.child.id());
    eprintln!("peak RSS under 1000 connections: {peak} KiB");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
}

#[test]
fn past_the_connection_cap_the_server_stays_up_and_serves_again_once_load_falls() {
    let server = start_server(&["--max-connections", "50"]);
    let report = wrk(&server.url("/who"), 400, 3);
    assert!(report.requests > 0, "{report:?}");
    let peak = peak_rss_kib(server.child.id());
    assert!(peak < 32 * 1024, "peak RSS {peak} KiB with 50 connections");
    assert_eq!(http_get(&server.url("/health")).0, 200);
}

#[test]
fn sigterm_under_load_completes_accepted_requests_refuses_new_ones_and_exits_0() {
    let mut server = start_server(&["--drain-timeout", "3s"]);
    let addr = server.addr;
    let clients: Vec<_> = (0..16)
        .map(|_| {
            thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(10);
                let mut complete = 0;
                while Instant::now() < deadline {
                    let Ok(mut stream) = TcpStream::connect(addr) else {
                        break;
                    };
                    stream
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .unwrap();
                    if stream
                        // Not /health: it answers 503 once SIGTERM came (issue 24).
                        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .is_err()
                    {
                        break;
                    }
                    let mut answer = Vec::new();
                    let _ = stream.read_to_end(&mut answer);
                    if answer.is_empty() {
                        break; // closed before answering: the listener was going away
                    }
                    // Anything the server started to answer, it answered whole.
                    assert!(
                        answer.starts_with(b"HTTP/1.1 200 OK")
                            && answer.ends_with(
                                b"\r\n\r\nHello World from Rust in minimal Docker container\n"
                            ),
                        "{answer:?}"
                    );
                    complete += 1;
                }
                complete
            })
        })
        .collect();
    thread::sleep(Duration::from_secs(1));
    server.signal("TERM");
    let (status, took) = server
        .wait_for_exit(Duration::from_secs(5))
        .expect("still running 5 s after SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(4), "drain took {took:?}");
    let served: u32 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(served > 0, "no request was served before SIGTERM");
    assert!(
        TcpStream::connect(addr).is_err(),
        "a connection was accepted after exit"
    );
}

#[test]
fn malformed_requests_get_a_4xx_or_a_closed_connection_and_the_server_keeps_serving() {
    let server = start_server(&[]);
    let huge_line = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000));
    let huge_header = format!(
        "GET /who HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(100_000)
    );
    let many_headers = format!("GET /who HTTP/1.1\r\n{}\r\n", "X-H: 1\r\n".repeat(200));
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage bytes", garbage),
        (
            "invalid method",
            b"G@T /who HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "bad version",
            b"GET /who HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
        ),
        ("huge request line", huge_line.into_bytes()),
        ("oversized header", huge_header.into_bytes()),
        ("too many headers", many_headers.into_bytes()),
        ("bare newlines", b"\n\n\n\n".to_vec()),
    ];
    for (what, request) in cases {
        let answer = answer_to(server.addr, &request);
        let status = answer.get(9..12).unwrap_or("");
        assert!(
            answer.is_empty() || status.starts_with('4'),
            "{what}: answered {answer:?}"
        );
        assert_eq!(
            http_get(&server.url("/health")).0,
            200,
            "not serving after {what}"
        );
    }
}
