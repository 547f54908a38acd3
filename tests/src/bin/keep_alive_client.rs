//! `keep-alive-client HOST:PORT CONNECTIONS MAX_SECONDS`: CONNECTIONS
//! threads each send `GET /who` in a loop on a keep-alive connection, until
//! stdin closes (or MAX_SECONDS pass), then print what they saw, one
//! `name value` line per count and one `hostname NAME ANSWERS` line per
//! hostname that answered.
//!
//! tests/swarm.rs runs it, built static for musl, in a container on a Swarm
//! stack's network during a rolling update. Every new connection resolves
//! HOST again (a dnsrr service name resolves to its tasks' addresses) and
//! takes the next address in turn, so the first connections spread over
//! every task. A request is *lost* as in who-server/tests/shutdown.rs: it
//! was written (or its write failed) on a connection whose last answer did
//! not say `Connection: close`, and no whole answer came within 5 s. A
//! connection closed after an answer that said `Connection: close` is fine:
//! the thread reconnects. A connect that fails (refused: a task that went
//! away, or a stale address) wrote nothing, so it loses nothing: counted,
//! and retried.
//!
//! Standard library only: it runs in a busybox container, DNS included
//! (musl reads the container's /etc/resolv.conf, Docker's embedded DNS).

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const REQUEST: &[u8] = b"GET /who HTTP/1.1\r\nHost: who\r\n\r\n";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// Between failed connects or resolutions: a stale address is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// Log lines each thread writes to stderr at most (lost requests, failed
/// connects), so that a broken run does not flood the test's output.
const LOG_LIMIT: u32 = 20;

/// What one thread saw; summed over threads at the end.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
struct Tally {
    /// Whole answers with status 200.
    answered: u64,
    /// Whole answers with another status.
    not_ok: u64,
    /// Requests written (or whose write failed) with no whole answer.
    lost: u64,
    /// Connections opened.
    connections: u64,
    /// Connections closed after an answer that said `Connection: close`.
    told_to_close: u64,
    /// Connects refused, unreachable or timed out: nothing written.
    connect_failures: u64,
    /// The name resolved to no address (or did not resolve).
    resolve_failures: u64,
    /// Answers per hostname (the body of `/who`).
    hostnames: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.answered += other.answered;
        self.not_ok += other.not_ok;
        self.lost += other.lost;
        self.connections += other.connections;
        self.told_to_close += other.told_to_close;
        self.connect_failures += other.connect_failures;
        self.resolve_failures += other.resolve_failures;
        for (hostname, answers) in other.hostnames {
            *self.hostnames.entry(hostname).or_default() += answers;
        }
    }

    fn report(&self) -> String {
        let mut out = format!(
            "answered {}\nnot_ok {}\nlost {}\nconnections {}\ntold_to_close {}\nconnect_failures {}\nresolve_failures {}\n",
            self.answered,
            self.not_ok,
            self.lost,
            self.connections,
            self.told_to_close,
            self.connect_failures,
            self.resolve_failures
        );
        for (hostname, answers) in &self.hostnames {
            out.push_str(&format!("hostname {hostname} {answers}\n"));
        }
        out
    }
}

/// One answer, read whole.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    closes: bool,
    body: Vec<u8>,
}

/// Parses a whole answer off the front of `bytes`: `None` while the head
/// or the `content-length` bytes of body are still incomplete.
fn parse_answer(bytes: &[u8]) -> Option<Result<Answer, String>> {
    let end_of_head = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..end_of_head]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let Some(status) = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
    else {
        return Some(Err(format!("bad status line {status_line:?}")));
    };
    let mut length = None;
    let mut closes = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Some(Err(format!("bad header line {line:?}")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("connection") {
            closes = value.eq_ignore_ascii_case("close");
        }
    }
    let Some(length) = length else {
        return Some(Err(format!("no content-length in {head:?}")));
    };
    let body = bytes.get(end_of_head + 4..end_of_head + 4 + length)?;
    Some(Ok(Answer {
        status,
        closes,
        body: body.to_vec(),
    }))
}

/// Reads one whole answer within `limit`; an error says why there is none.
fn answer_within(stream: &mut TcpStream, limit: Duration) -> Result<Answer, String> {
    let end = Instant::now() + limit;
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no whole answer within {limit:?}: {bytes:?}"));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buffer) {
            Ok(0) => return Err(format!("closed after {} bytes of answer", bytes.len())),
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            Err(e) => return Err(format!("read after {} bytes of answer: {e}", bytes.len())),
        }
        if let Some(answer) = parse_answer(&bytes) {
            return answer;
        }
    }
}

/// The name's addresses, sorted, so that a shared turn counter spreads
/// connections over all of them.
fn resolve(target: &str) -> Vec<SocketAddr> {
    let mut addresses: Vec<SocketAddr> = target
        .to_socket_addrs()
        .map(|found| found.collect())
        .unwrap_or_default();
    addresses.sort();
    addresses
}

struct Shared {
    target: String,
    stop: AtomicBool,
    turn: AtomicUsize,
    deadline: Instant,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}

/// One client: connects, asks until told to close or stopped, reconnects.
fn client(shared: &Shared, id: usize) -> Tally {
    let mut tally = Tally::default();
    let mut logged = 0;
    let mut log = |line: String| {
        if logged < LOG_LIMIT {
            eprintln!("client {id}: {line}");
            logged += 1;
        }
    };
    'connections: while !shared.stopping() {
        let addresses = resolve(&shared.target);
        if addresses.is_empty() {
            tally.resolve_failures += 1;
            thread::sleep(RETRY_PAUSE);
            continue;
        }
        let address = addresses[shared.turn.fetch_add(1, Ordering::Relaxed) % addresses.len()];
        let mut stream = match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(stream) => stream,
            Err(e) => {
                tally.connect_failures += 1;
                log(format!("connect to {address}: {e}"));
                thread::sleep(RETRY_PAUSE);
                continue;
            }
        };
        tally.connections += 1;
        let _ = stream.set_nodelay(true);
        while !shared.stopping() {
            let answer = stream
                .write_all(REQUEST)
                .map_err(|e| format!("write: {e}"))
                .and_then(|()| answer_within(&mut stream, ANSWER_TIMEOUT));
            let answer = match answer {
                Ok(answer) => answer,
                Err(e) => {
                    tally.lost += 1;
                    log(format!("lost a request to {address}: {e}"));
                    continue 'connections;
                }
            };
            if answer.status == 200 {
                tally.answered += 1;
                let hostname = String::from_utf8_lossy(&answer.body).trim().to_owned();
                *tally.hostnames.entry(hostname).or_default() += 1;
            } else {
                tally.not_ok += 1;
                log(format!("status {} from {address}", answer.status));
            }
            if answer.closes {
                tally.told_to_close += 1;
                continue 'connections;
            }
        }
    }
    tally
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, connections, max_seconds] = args.as_slice() else {
        eprintln!("usage: keep-alive-client HOST:PORT CONNECTIONS MAX_SECONDS");
        return ExitCode::from(2);
    };
    let (Ok(connections), Ok(max_seconds)) = (connections.parse::<usize>(), max_seconds.parse())
    else {
        eprintln!("CONNECTIONS and MAX_SECONDS are whole numbers");
        return ExitCode::from(2);
    };
    let shared = Arc::new(Shared {
        target: target.clone(),
        stop: AtomicBool::new(false),
        turn: AtomicUsize::new(0),
        deadline: Instant::now() + Duration::from_secs(max_seconds),
    });
    let clients: Vec<_> = (0..connections)
        .map(|id| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || client(&shared, id))
        })
        .collect();
    // Until stdin closes (`docker run -i` passes the EOF on), or the deadline.
    {
        let shared = Arc::clone(&shared);
        thread::spawn(move || {
            let _ = io::copy(&mut io::stdin(), &mut io::sink());
            shared.stop.store(true, Ordering::Relaxed);
        });
    }
    let mut tally = Tally::default();
    for client in clients {
        tally.add(client.join().expect("a client thread panicked"));
    }
    print!("{}", tally.report());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_answer_is_parsed_with_its_status_body_and_connection_close() {
        let bytes = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 3\r\n\r\nabc";
        assert_eq!(
            parse_answer(bytes),
            Some(Ok(Answer {
                status: 200,
                closes: true,
                body: b"abc".to_vec()
            }))
        );
    }

    #[test]
    fn an_answer_without_connection_close_keeps_the_connection() {
        let bytes = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
        let answer = parse_answer(bytes).unwrap().unwrap();
        assert_eq!(answer.status, 503);
        assert!(!answer.closes);
    }

    #[test]
    fn an_answer_is_incomplete_until_its_whole_body_is_there() {
        assert_eq!(
            parse_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n"),
            None
        );
        assert_eq!(
            parse_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nab"),
            None
        );
    }

    #[test]
    fn an_answer_without_a_content_length_is_an_error() {
        assert!(matches!(
            parse_answer(b"HTTP/1.1 200 OK\r\n\r\n"),
            Some(Err(_))
        ));
    }

    #[test]
    fn the_report_has_a_line_per_count_and_per_hostname() {
        let mut tally = Tally {
            answered: 3,
            lost: 1,
            ..Tally::default()
        };
        tally.add(Tally {
            answered: 2,
            hostnames: BTreeMap::from([("a".to_owned(), 2)]),
            ..Tally::default()
        });
        let report = tally.report();
        assert!(
            report.starts_with("answered 5\nnot_ok 0\nlost 1\n"),
            "{report}"
        );
        assert!(report.ends_with("hostname a 2\n"), "{report}");
    }
}
