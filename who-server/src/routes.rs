use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use crate::api;
use crate::shutdown::Draining;

/// The Go web demo's line (`fmt.Fprintln`, hence the newline), with Rust.
const HELLO: &str = "Hello World from Rust in minimal Docker container\n";
const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

/// One request in, one response out. hyper drops the body of HEAD answers
/// itself, so HEAD is served wherever GET is.
pub async fn handle(
    req: Request<Incoming>,
    remote: SocketAddr,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path();
    if !matches!(path, "/" | "/who" | "/health" | "/api") {
        return Ok(respond(StatusCode::NOT_FOUND, TEXT, "404 page not found\n"));
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let mut response = respond(
            StatusCode::METHOD_NOT_ALLOWED,
            TEXT,
            "405 method not allowed\n",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Ok(response);
    }
    Ok(match path {
        "/" => respond(StatusCode::OK, TEXT, HELLO),
        // The same bytes as the Go original: the bare hostname, no newline.
        "/who" => respond(StatusCode::OK, TEXT, hostname()),
        "/health" if req.extensions().get::<Draining>().is_some() => {
            respond(StatusCode::SERVICE_UNAVAILABLE, TEXT, "shutting down")
        }
        "/health" => respond(StatusCode::OK, TEXT, "ok"),
        _ => respond(
            StatusCode::OK,
            JSON,
            api::describe(&req, remote, hostname()),
        ),
    })
}

/// The hostname, or `unknown` as the Go original answers when the lookup fails.
pub fn hostname() -> String {
    hostname::get()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
