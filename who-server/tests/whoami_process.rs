//! whoami's flags and variables, the access log, and the bounds that need
//! the binary as a process: a wait cut by the drain timeout, the memory of
//! a 1 GiB `/data` answer.

mod common;

use common::process;

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::process::{ServerProcess, BIN};
use testkit::{http_get, CommandExt};

fn with_env(vars: &[(&str, &str)], args: &[&str]) -> ServerProcess {
    let mut command = Command::new(BIN);
    for (key, value) in vars {
        command.env(key, value);
    }
    ServerProcess::start_with(command, args, Stdio::piped())
}

fn url(server: &ServerProcess, path: &str) -> String {
    format!("http://{}{path}", server.addr)
}

#[test]
fn the_name_can_come_from_whoami_name() {
    let server = with_env(&[("WHOAMI_NAME", "from-whoami")], &["--root", "whoami"]);
    assert!(http_get(&url(&server, "/"))
        .1
        .starts_with("Name: from-whoami\n"));
}

#[test]
fn who_name_wins_over_whoami_name_and_the_flag_over_both() {
    let vars = [("WHOAMI_NAME", "whoami"), ("WHO_NAME", "who")];
    let server = with_env(&vars, &[]);
    assert!(http_get(&url(&server, "/whoami"))
        .1
        .starts_with("Name: who\n"));
    let server = with_env(&vars, &["--name", "flag"]);
    assert!(http_get(&url(&server, "/whoami"))
        .1
        .starts_with("Name: flag\n"));
}

#[test]
fn who_root_whoami_in_the_environment_serves_the_page_at_root() {
    let server = with_env(&[("WHO_ROOT", "whoami")], &[]);
    assert!(http_get(&url(&server, "/")).1.starts_with("Hostname: "));
}

/// Starts the binary without --port, with `vars`; the port it says it listens on.
fn listening_port(vars: &[(&str, &str)]) -> String {
    let mut command = Command::new(BIN);
    command.args(["--bind", "127.0.0.1"]).env_remove("PORT");
    for (key, value) in vars {
        command.env(key, value);
    }
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    let _ = std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();
    line.trim()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn free_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port().to_string()
}

#[test]
fn the_port_can_come_from_whoami_port_number() {
    let port = free_port();
    assert_eq!(listening_port(&[("WHOAMI_PORT_NUMBER", &port)]), port);
}

#[test]
fn port_wins_over_whoami_port_number() {
    let (port, other) = (free_port(), free_port());
    assert_eq!(
        listening_port(&[("PORT", &port), ("WHOAMI_PORT_NUMBER", &other)]),
        port
    );
}

#[test]
fn a_bad_whoami_port_number_is_a_usage_error() {
    let out = Command::new(BIN)
        .env_remove("PORT")
        .env("WHOAMI_PORT_NUMBER", "eighty")
        .outcome_within(Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert!(
        out.stderr
            .contains("WHOAMI_PORT_NUMBER=\"eighty\" is not a port number (0-65535)"),
        "{out}"
    );
}

#[test]
fn a_response_header_without_a_colon_is_a_usage_error() {
    for bad in ["X-Replica a", "Bad Name: a", "X-A: a\u{7f}"] {
        let out = Command::new(BIN)
            .args(["--response-header", bad])
            .outcome_within(Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{bad}: {out}");
        assert!(
            out.stderr.starts_with("error: invalid value"),
            "{bad}: {out}"
        );
    }
}

#[test]
fn bad_whoami_flags_are_usage_errors() {
    for args in [
        &["--root", "index"][..],
        &["--max-data", "1PB"],
        &["--max-wait", "forever"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .outcome_within(Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out}");
    }
}

#[test]
fn duration_flags_take_go_durations_and_say_what_they_refuse() {
    for bad in ["1m 30s", "forever", "-1s", "1"] {
        let out = Command::new(BIN)
            .arg(format!("--header-timeout={bad}"))
            .outcome_within(Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{bad}: {out}");
        let why = if bad.starts_with('-') {
            "must not be negative"
        } else {
            "is not a duration such as 100ms, 1.5s or 1m30s"
        };
        assert!(
            out.stderr
                .contains(&format!("'{bad}' for '--header-timeout <DURATION>': {why}")),
            "{bad}: {out}"
        );
    }
    let out = Command::new(BIN)
        .args(["--log-interval", "0"])
        .outcome_within(Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert!(out.stderr.contains("must be more than 0"), "{out}");
    let mut server = process::start(&["--header-timeout", "1m30s", "--max-wait", "1.5s"]);
    assert_eq!(
        http_get(&url(&server, "/who?wait=2s")).0,
        400,
        "--max-wait 1.5s took"
    );
    server.stop();
}

#[test]
fn the_access_log_writes_one_line_per_request_on_stdout() {
    let mut server = process::start(&["--access-log"]);
    let answer = common::process::exchange(
        server.addr,
        b"GET /who?x=1 HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.7, 10.0.0.8\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with(b"HTTP/1.1 200 OK"));
    let _ = http_get(&url(&server, "/nope"));
    let mut lines = [String::new(), String::new()];
    for line in &mut lines {
        server.stdout.read_line(line).unwrap();
    }
    let fields: Vec<&str> = lines[0].split(' ').collect();
    // 2026-11-30T03:50:00.123Z 127.0.0.1:40312 "10.0.0.7, 10.0.0.8" GET /who 200 12 0.052ms
    assert!(
        fields[0].ends_with('Z') && fields[0].len() == 24,
        "{}",
        lines[0]
    );
    assert!(fields[1].starts_with("127.0.0.1:"), "{}", lines[0]);
    let hostname = hostname::get().unwrap().into_string().unwrap();
    assert_eq!(
        fields[2..8].join(" "),
        format!("\"10.0.0.7, 10.0.0.8\" GET /who 200 {}", hostname.len()),
        "{}",
        lines[0]
    );
    assert!(fields[8].trim_end().ends_with("ms"), "{}", lines[0]);
    let fields: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(fields[2..6], ["-", "GET", "/nope", "404"], "{}", lines[1]);
}

#[test]
fn the_access_log_counts_0_bytes_for_a_head_request_as_none_are_sent() {
    let mut server = process::start(&["--access-log"]);
    let answer = process::exchange(
        server.addr,
        b"HEAD /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "a head and no body: {answer}");
    let mut line = String::new();
    server.stdout.read_line(&mut line).unwrap();
    let fields: Vec<&str> = line.split(' ').collect();
    assert_eq!(fields[2..7], ["-", "HEAD", "/who", "200", "0"], "{line}");
}

#[test]
fn without_access_log_nothing_but_the_listening_line_is_on_stdout() {
    let mut server = process::start(&[]);
    let _ = http_get(&url(&server, "/who"));
    server.stop();
    let mut rest = String::new();
    server.stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "");
}

#[test]
fn a_wait_in_flight_does_not_hold_sigterm_past_the_drain_timeout() {
    let mut server = process::start(&["--drain-timeout", "1s"]);
    let mut client = TcpStream::connect(server.addr).unwrap();
    client
        .write_all(b"GET /who?wait=30s HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    let (status, took) = server.exit_within(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(
        took < Duration::from_secs(3),
        "exit took {took:?} with a drain timeout of 1s"
    );
}

/// The peak resident memory (VmHWM) of `pid`, in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_1_gib_data_answer_streams_in_under_16_mb_of_memory() {
    let server = process::start(&[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"GET /data?size=1&unit=GB HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buffer = vec![0; 1 << 20];
    let mut total = 0u64;
    let mut last = 0u8;
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                last = buffer[n - 1];
            }
            Err(e) => panic!("after {total} bytes: {e}"),
        }
    }
    let head_len = total - (1u64 << 30);
    assert!(head_len < 400, "{total} bytes in all");
    assert_eq!(last, b'|');
    let peak = peak_rss_kb(server.pid());
    assert!(peak < 16 * 1024, "peak RSS {peak} kB");
}
