//! `who-server check [URL]`: the HEALTHCHECK of an image that has no shell
//! and no curl. Succeeds only when the URL answers 200.
//!
//! One blocking request with `Connection: close`, parsed by httparse (the
//! parser hyper itself uses): hyper's client made the binary 74 KB bigger,
//! in a project about size, for a single GET.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::thread;
use std::time::{Duration, Instant};

use hyper::Uri;

pub const DEFAULT_URL: &str = "http://127.0.0.1:8080/health";

/// The most of an answer read while looking for its status line.
const MAX_HEAD: usize = 16 * 1024;

/// Why a check failed, in one line.
#[derive(Debug)]
pub enum CheckError {
    BadUrl(String),
    /// The step that did not finish within the limit.
    TimedOut(Duration, &'static str),
    Unreachable(io::Error),
    Closed,
    NotHttp(String),
    Status(u16, String),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::BadUrl(why) => write!(f, "bad URL: {why}"),
            CheckError::TimedOut(limit, step) => {
                write!(f, "timed out after {limit:?} {step}")
            }
            CheckError::Unreachable(e) => write!(f, "no answer: {e}"),
            CheckError::Closed => write!(f, "connection closed before the status line"),
            CheckError::NotHttp(why) => write!(f, "the answer is not HTTP: {why}"),
            CheckError::Status(code, reason) => {
                write!(f, "answered {code} {reason}, expected 200 OK")
            }
        }
    }
}

impl std::error::Error for CheckError {}

/// GETs `url` (plain `http://` only) and succeeds on a 200. Every step, the
/// name lookup included, ends by `limit` after the start.
pub fn check(url: &str, limit: Duration) -> Result<(), CheckError> {
    #[cfg(feature = "tls")]
    return check_tls(url, limit, false);
    #[cfg(not(feature = "tls"))]
    get(url, limit, ("http", 80), |stream, _host| Ok(stream))
}

/// `check`, with `https://` too (the `tls` feature). `insecure` takes any
/// server certificate: the image's HEALTHCHECK asks its own process on
/// 127.0.0.1, a name no real certificate holds, from a scratch image with
/// no CA store. Without it an `https://` URL is refused, as nothing here
/// could verify it.
#[cfg(feature = "tls")]
pub fn check_tls(url: &str, limit: Duration, insecure: bool) -> Result<(), CheckError> {
    if !url.starts_with("https://") {
        return get(url, limit, ("http", 80), |stream, _host| {
            Ok(Stream::Plain(stream))
        });
    }
    if !insecure {
        return Err(CheckError::BadUrl(format!(
            "{url}: https:// needs --insecure (no CA store to verify the certificate with)"
        )));
    }
    get(url, limit, ("https", 443), |stream, host| {
        crate::tls_check::connect(stream, host)
            .map(|tls| Stream::Tls(Box::new(tls)))
            .map_err(CheckError::Unreachable)
    })
}

/// The connection the request goes over.
#[cfg(feature = "tls")]
enum Stream {
    Plain(TcpStream),
    Tls(Box<crate::tls_check::TlsStream>),
}

#[cfg(feature = "tls")]
impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

#[cfg(feature = "tls")]
impl io::Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

#[cfg(feature = "tls")]
impl io::Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A connection whose socket's timeouts can be set.
trait Timed: io::Read + io::Write {
    fn tcp(&self) -> &TcpStream;
}

impl Timed for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

#[cfg(feature = "tls")]
impl Timed for Stream {
    fn tcp(&self) -> &TcpStream {
        Stream::tcp(self)
    }
}

/// The GET itself, over what `wrap` makes of the TCP connection.
fn get<S: Timed>(
    url: &str,
    limit: Duration,
    (scheme, default_port): (&str, u16),
    wrap: impl FnOnce(TcpStream, &str) -> Result<S, CheckError>,
) -> Result<(), CheckError> {
    let deadline = Instant::now() + limit;
    let left = || deadline.saturating_duration_since(Instant::now());
    let timed_out = |step| move |e: io::Error| timeout_or(e, limit, step);
    let bad = |why: &str| CheckError::BadUrl(format!("{url}: {why}"));
    let uri: Uri = url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
    if uri.scheme_str() != Some(scheme) {
        return Err(bad(&format!("only {scheme}:// URLs are supported")));
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    let host = authority.host().trim_matches(['[', ']']);
    let port = authority.port_u16().unwrap_or(default_port);
    let addr = match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => lookup(host, port, deadline)
            .map_err(|e| e.unwrap_or(CheckError::TimedOut(limit, "looking up the host name")))?
            .ok_or_else(|| bad("the host has no address"))?,
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());

    let stream =
        TcpStream::connect_timeout(&addr, nonzero(left())).map_err(timed_out("connecting"))?;
    stream
        .set_write_timeout(Some(nonzero(left())))
        .map_err(CheckError::Unreachable)?;
    // The TLS handshake, if any, is bounded by the same deadline.
    stream
        .set_read_timeout(Some(nonzero(left())))
        .map_err(CheckError::Unreachable)?;
    let mut stream = wrap(stream, host)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: who-server-check\r\nConnection: close\r\n\r\n"
    )
    .map_err(timed_out("sending the request"))?;

    let line = status_line(&mut stream, left).map_err(|e| match e {
        Read::Io(e) => timeout_or(e, limit, "waiting for the answer"),
        Read::Closed => CheckError::Closed,
        Read::TooLong => {
            CheckError::NotHttp(format!("no status line in the first {MAX_HEAD} bytes"))
        }
    })?;
    let (code, reason) = parse_status(&line)?;
    match code {
        200 => Ok(()),
        _ => Err(CheckError::Status(code, reason)),
    }
}

/// A socket timeout is zero-free: zero would mean "wait forever".
fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

/// A socket timeout said as such, with the step it cut short.
fn timeout_or(e: io::Error, limit: Duration, step: &'static str) -> CheckError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => CheckError::TimedOut(limit, step),
        _ => CheckError::Unreachable(e),
    }
}

/// Resolves `host` on a thread of its own, waiting for it until `deadline`
/// (`Err(None)` past it): the system resolver has no timeout we can set,
/// and one that never answers must not hold the check. A thread given up
/// on is left to the exit that follows.
fn lookup(
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<Option<SocketAddr>, Option<CheckError>> {
    let waiting = thread::current();
    let name = host.to_owned();
    let resolver = thread::spawn(move || {
        let found = (name.as_str(), port)
            .to_socket_addrs()
            .map(|mut a| a.next());
        waiting.unpark();
        found
    });
    while !resolver.is_finished() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(None);
        }
        thread::park_timeout(left);
    }
    // The resolver cannot panic (and in release, a panic aborts).
    resolver
        .join()
        .unwrap_or(Ok(None))
        .map_err(|e| Some(CheckError::Unreachable(e)))
}

enum Read {
    Io(io::Error),
    Closed,
    TooLong,
}

/// Reads up to the end of the first line, at most `MAX_HEAD` bytes, each
/// read bounded by what is left of the deadline.
fn status_line(stream: &mut impl Timed, left: impl Fn() -> Duration) -> Result<Vec<u8>, Read> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = received.iter().position(|&b| b == b'\n') {
            received.truncate(end + 1);
            return Ok(received);
        }
        if received.len() >= MAX_HEAD {
            return Err(Read::TooLong);
        }
        stream
            .tcp()
            .set_read_timeout(Some(nonzero(left())))
            .map_err(Read::Io)?;
        let want = chunk.len().min(MAX_HEAD - received.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Err(Read::Closed),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Read::Io(e)),
        }
    }
}

/// The code and reason of a status line, parsed by httparse as a head with
/// no headers: whatever headers follow do not matter.
fn parse_status(line: &[u8]) -> Result<(u16, String), CheckError> {
    let mut head = line.to_vec();
    head.extend_from_slice(b"\r\n");
    let mut response = httparse::Response::new(&mut []);
    match response.parse(&head) {
        Ok(httparse::Status::Complete(_)) => Ok((
            response.code.unwrap_or(0),
            response.reason.unwrap_or("").to_owned(),
        )),
        _ => Err(CheckError::NotHttp(format!(
            "{:?}",
            String::from_utf8_lossy(line.trim_ascii_end())
        ))),
    }
}
