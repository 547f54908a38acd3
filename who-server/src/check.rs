//! `who-server check [URL]`: the HEALTHCHECK of an image that has no shell
//! and no curl. Succeeds only when the URL answers 200.

use std::fmt;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::HOST;
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub const DEFAULT_URL: &str = "http://127.0.0.1:8080/health";

/// Why a check failed, in one line.
#[derive(Debug)]
pub enum CheckError {
    BadUrl(String),
    Unreachable(String),
    TimedOut(Duration),
    Status(StatusCode),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::BadUrl(why) => write!(f, "bad URL: {why}"),
            CheckError::Unreachable(why) => write!(f, "no answer: {why}"),
            CheckError::TimedOut(limit) => write!(f, "no answer within {limit:?}"),
            CheckError::Status(status) => write!(f, "answered {status}, expected 200 OK"),
        }
    }
}

impl std::error::Error for CheckError {}

/// GETs `url` (plain `http://` only) and succeeds on a 200 within `limit`.
pub async fn check(url: &str, limit: Duration) -> Result<(), CheckError> {
    let uri: Uri = url
        .parse()
        .map_err(|e| CheckError::BadUrl(format!("{url}: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(CheckError::BadUrl(format!(
            "{url}: only http:// URLs are supported"
        )));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| CheckError::BadUrl(format!("{url}: no host")))?
        .clone();
    let target = (
        authority.host().trim_matches(['[', ']']),
        authority.port_u16().unwrap_or(80),
    );
    let status = tokio::time::timeout(limit, async {
        let stream = TcpStream::connect(target).await.map_err(unreachable)?;
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(unreachable)?;
        tokio::spawn(connection);
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let request = Request::get(path)
            .header(HOST, authority.as_str())
            .body(Empty::<Bytes>::new())
            .map_err(|e| CheckError::BadUrl(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(unreachable)?;
        Ok(response.status())
    })
    .await
    .map_err(|_elapsed| CheckError::TimedOut(limit))??;
    if status == StatusCode::OK {
        Ok(())
    } else {
        Err(CheckError::Status(status))
    }
}

fn unreachable(e: impl fmt::Display) -> CheckError {
    CheckError::Unreachable(e.to_string())
}
