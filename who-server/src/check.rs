//! `who-server check [URL]`: the HEALTHCHECK of an image that has no shell
//! and no curl. Succeeds only when the URL answers 200.
//!
//! One blocking request with `Connection: close`, parsed by httparse (the
//! parser hyper itself uses): hyper's client made the binary 74 KB bigger,
//! in a project about size, for a single GET.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use hyper::Uri;

pub const DEFAULT_URL: &str = "http://127.0.0.1:8080/health";

/// The most of an answer read while looking for its status line.
const MAX_HEAD: usize = 16 * 1024;

/// Why a check failed, in one line.
#[derive(Debug)]
pub enum CheckError {
    BadUrl(String),
    Unreachable(io::Error),
    NotHttp,
    Status(u16, String),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::BadUrl(why) => write!(f, "bad URL: {why}"),
            CheckError::Unreachable(e) => write!(f, "no answer: {e}"),
            CheckError::NotHttp => write!(f, "the answer is not HTTP"),
            CheckError::Status(code, reason) => {
                write!(f, "answered {code} {reason}, expected 200 OK")
            }
        }
    }
}

impl std::error::Error for CheckError {}

/// GETs `url` (plain `http://` only) and succeeds on a 200; every step of
/// the exchange is bounded by `limit`.
pub fn check(url: &str, limit: Duration) -> Result<(), CheckError> {
    let bad = |why: &str| CheckError::BadUrl(format!("{url}: {why}"));
    let uri: Uri = url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad("only http:// URLs are supported"));
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    let host = authority.host().trim_matches(['[', ']']);
    let addr = (host, authority.port_u16().unwrap_or(80))
        .to_socket_addrs()
        .map_err(CheckError::Unreachable)?
        .next()
        .ok_or_else(|| bad("the host has no address"))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());

    let deadline = Instant::now() + limit;
    let mut stream = TcpStream::connect_timeout(&addr, limit).map_err(CheckError::Unreachable)?;
    stream
        .set_write_timeout(Some(limit))
        .map_err(CheckError::Unreachable)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: who-server-check\r\nConnection: close\r\n\r\n"
    )
    .map_err(CheckError::Unreachable)?;

    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        stream
            .set_read_timeout(Some(left))
            .map_err(CheckError::Unreachable)?;
        let n = stream.read(&mut chunk).map_err(CheckError::Unreachable)?;
        received.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&received) {
            Ok(httparse::Status::Complete(_)) => {
                return match response.code {
                    Some(200) => Ok(()),
                    code => Err(CheckError::Status(
                        code.unwrap_or(0),
                        response.reason.unwrap_or("").to_owned(),
                    )),
                };
            }
            Ok(httparse::Status::Partial) if n > 0 && received.len() < MAX_HEAD => continue,
            _ => return Err(CheckError::NotHttp),
        }
    }
}
