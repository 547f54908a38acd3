//! The binary as a process: flags, bad input, the health check and signals.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use testkit::{http_get, CommandExt, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_who-server");

/// How long a command that should end may run before it is killed and
/// the test fails: far beyond its normal time, even on a loaded machine.
const LIMIT: Duration = Duration::from_secs(20);

fn who_server() -> Command {
    Command::new(BIN)
}

#[test]
fn it_prints_one_listening_line_and_serves_on_it() {
    let server = ServerProcess::start(BIN, &[]);
    assert_eq!(http_get(&server.url("/health")).0, 200);
}

#[test]
fn the_port_can_come_from_the_environment() {
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = who_server()
        .args(["--bind", "127.0.0.1"])
        .env("PORT", free.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = [0u8; 64];
    let n = child.stdout.as_mut().unwrap().read(&mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let line = String::from_utf8_lossy(&line[..n]).into_owned();
    assert_eq!(line.trim(), format!("listening on http://127.0.0.1:{free}"));
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let mut server = ServerProcess::start(BIN, &[]);
    // A request whose head is half sent is in flight for the server.
    let mut client = TcpStream::connect(server.addr).unwrap();
    client
        .write_all(b"GET /who HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "a new connection was accepted after SIGTERM"
    );
    client.write_all(b"\r\n").unwrap();

    let mut answer = String::new();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    client.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let (status, _) = server
        .wait_for_exit(Duration::from_secs(2))
        .expect("still running 2 s after SIGTERM");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigint_stops_an_idle_server_at_once_with_exit_0() {
    let mut server = ServerProcess::start(BIN, &[]);
    server.signal("INT");
    let (status, took) = server
        .wait_for_exit(Duration::from_secs(2))
        .expect("still running 2 s after SIGINT");
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn a_port_in_use_is_one_line_on_stderr_and_exit_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = who_server()
        .args(["--bind", "127.0.0.1", "--port", &port])
        .outcome_within(LIMIT)
        .expect_one_line_error(1);
    assert!(out.stderr.contains("Address already in use"), "{out}");
}

#[test]
fn an_address_not_on_this_machine_is_one_line_and_exit_1() {
    // TEST-NET-3 (RFC 5737): never assigned to a local interface.
    let out = who_server()
        .args(["--bind", "203.0.113.7", "--port", "0"])
        .outcome_within(LIMIT)
        .expect_one_line_error(1);
    assert!(
        out.stderr
            .starts_with("who-server: cannot listen on 203.0.113.7:0"),
        "{out}"
    );
}

#[test]
fn bad_flags_are_usage_errors_with_exit_2() {
    for args in [
        &["--port", "http"][..],
        &["--port", "70000"],
        &["--bind", "nowhere"],
        &["--frobnicate"],
        &["--max-connections", "0"],
    ] {
        let out = who_server().args(args).outcome_within(LIMIT).expect_code(2);
        assert!(out.stderr.starts_with("error: "), "{out}");
        assert!(!out.stderr.contains("panicked"), "{out}");
    }
}

#[test]
fn help_and_version_are_answered() {
    let help = who_server()
        .arg("--help")
        .outcome_within(LIMIT)
        .expect_success();
    assert!(help.stdout.contains("--header-timeout"), "{help}");
    let version = who_server()
        .arg("--version")
        .outcome_within(LIMIT)
        .expect_success();
    assert_eq!(
        version.stdout.trim(),
        format!("who-server {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_exits_0_when_the_url_answers_200() {
    let server = ServerProcess::start(BIN, &[]);
    who_server()
        .args(["check", &server.url("/health")])
        .outcome_within(LIMIT)
        .expect_success();
}

#[test]
fn check_exits_1_with_the_status_when_the_url_answers_otherwise() {
    let server = ServerProcess::start(BIN, &[]);
    let out = who_server()
        .args(["check", &server.url("/missing")])
        .outcome_within(LIMIT)
        .expect_one_line_error(1);
    assert!(out.stderr.contains("404 Not Found"), "{out}");
}

#[test]
fn check_exits_1_when_nothing_listens() {
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = who_server()
        .args(["check", &format!("http://127.0.0.1:{free}/health")])
        .outcome_within(LIMIT)
        .expect_one_line_error(1);
    assert!(out.stderr.contains("no answer"), "{out}");
}

#[test]
fn check_refuses_urls_it_cannot_request() {
    for url in ["https://127.0.0.1/health", "not a url", "/health"] {
        let out = who_server()
            .args(["check", url])
            .outcome_within(LIMIT)
            .expect_one_line_error(1);
        assert!(out.stderr.contains("bad URL"), "{out}");
    }
}

/// Starts `who-server ARGS` (no `--bind` added), returns it with the first
/// line it printed.
fn start_unbound(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = who_server()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let _ = std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
    (child, line)
}

#[test]
fn without_bind_it_listens_on_ipv6_and_ipv4_at_once() {
    let (mut child, line) = start_unbound(&["--port", "0"]);
    let addr: std::net::SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("printed {line:?}"));
    let port = addr.port();
    let v4 = http_get(&format!("http://127.0.0.1:{port}/health"));
    let v6 = http_get(&format!("http://[::1]:{port}/health"));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(addr.ip(), std::net::Ipv6Addr::UNSPECIFIED, "{line}");
    assert_eq!(v4.0, 200);
    assert_eq!(v6.0, 200);
}

#[test]
fn without_bind_a_port_taken_on_ipv6_is_an_error_not_a_fallback_to_ipv4_alone() {
    // `[::]` fails with EADDRINUSE here, not for want of IPv6: serving on
    // 0.0.0.0 instead would leave IPv6 clients to the other server.
    let taken = TcpListener::bind("[::1]:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (mut child, line) = start_unbound(&["--port", &port]);
    // A server that did start printed its line; one that failed, nothing.
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(line, "", "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!("who-server: cannot listen on port {port}: Address already in use (os error 98)\n")
    );
}

/// The README shows `who-server -h` as the binary prints it: a flag, a
/// default or a help line changed in main.rs must be changed there too.
#[test]
fn the_readme_shows_the_help_the_binary_prints() {
    let help = who_server()
        .arg("-h")
        .env_remove("PORT")
        .env_remove("WORKERS")
        .env_remove("WHO_ROOT")
        .env_remove("WHO_NAME")
        .env_remove("WHO_SHUTDOWN_DELAY")
        .env_remove("WHO_CERT")
        .env_remove("WHO_KEY")
        .env_remove("WHO_CACERT")
        .outcome_within(LIMIT)
        .expect_success()
        .stdout;
    let readme = std::fs::read_to_string(testkit::root().join("README.md")).unwrap();
    // The `tls` build's help has its own block, below the default one.
    let command = match cfg!(feature = "tls") {
        true => "$ who-server -h   # built with --features tls",
        false => "$ who-server -h",
    };
    let shown = format!("```console\n{command}\n{help}```\n");
    assert!(
        readme.contains(&shown),
        "README.md's `who-server -h` block differs from the binary's; paste this:\n{shown}"
    );
}
