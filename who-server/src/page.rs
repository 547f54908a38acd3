//! whoami's text page (traefik/whoami v1.11.0, `whoamiHandler`), line for
//! line: `Name:` when a name is set, `Hostname:`, one `IP:` per address,
//! `RemoteAddr:`, then the request as Go's `Request.Write` renders it —
//! request line, `Host:`, `User-Agent:`, the length or chunking header, the
//! other headers sorted by name, a blank line, the body — then, with
//! `?env=true`, the environment. The lines about the server end in `\n`,
//! the request's in `\r\n`, as whoami's do.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;

use hyper::header::{
    HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING, USER_AGENT,
};
use hyper::http::request::Parts;
use hyper::{Method, Version};

use crate::info;

/// The most of a request body the page echoes; the rest is read and dropped.
pub const BODY_CAP: usize = 64 * 1024;

pub fn render(
    parts: &Parts,
    body: &[u8],
    remote: SocketAddr,
    name: Option<&str>,
    env: bool,
) -> Vec<u8> {
    let mut page = Vec::with_capacity(512 + body.len());
    if let Some(name) = name {
        let _ = writeln!(page, "Name: {name}");
    }
    page.extend_from_slice(b"Hostname: ");
    page.extend_from_slice(&info::hostname());
    page.push(b'\n');
    for ip in info::addresses().iter() {
        let _ = writeln!(page, "IP: {ip}");
    }
    let _ = writeln!(page, "RemoteAddr: {}", remote_addr(remote));
    // whoami's (since v1.11.0): each certificate the client sent over TLS.
    #[cfg(feature = "tls")]
    if let Some(crate::peer::Tls(peer)) = parts.extensions.get() {
        for (i, subject) in peer.subjects.iter().enumerate() {
            let _ = writeln!(page, "Certificate[{i}] Subject: {subject}");
        }
    }
    let _ = write!(
        page,
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        parts.method,
        request_uri(parts),
        host(parts)
    );
    // Go writes a default User-Agent of its own when the client sent none;
    // this page shows only what came.
    if let Some(agent) = parts.headers.get(USER_AGENT) {
        page.extend_from_slice(b"User-Agent: ");
        page.extend_from_slice(agent.as_bytes());
        page.extend_from_slice(b"\r\n");
    }
    if parts.version == Version::HTTP_10 && !parts.headers.contains_key(CONNECTION) {
        page.extend_from_slice(b"Connection: close\r\n");
    }
    if parts.headers.contains_key(TRANSFER_ENCODING) {
        page.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else {
        let length = content_length(parts);
        if length > 0 || !matches!(parts.method, Method::GET | Method::HEAD) {
            let _ = write!(page, "Content-Length: {length}\r\n");
        }
    }
    for (name, values) in headers(parts) {
        if matches!(
            name.as_str(),
            "Host" | "User-Agent" | "Content-Length" | "Transfer-Encoding" | "Trailer"
        ) {
            continue;
        }
        for value in values {
            page.extend_from_slice(name.as_bytes());
            page.extend_from_slice(b": ");
            page.extend_from_slice(value.as_bytes());
            page.extend_from_slice(b"\r\n");
        }
    }
    page.extend_from_slice(b"\r\n");
    page.extend_from_slice(body);
    if env {
        for (key, value) in std::env::vars_os() {
            let _ = writeln!(
                page,
                "{}={}",
                key.to_string_lossy(),
                value.to_string_lossy()
            );
        }
    }
    page
}

/// Go's `RequestURI`: the path and query as sent, without scheme and host.
pub fn request_uri(parts: &Parts) -> &str {
    parts.uri.path_and_query().map_or("/", |p| p.as_str())
}

/// Go's `Request.Host`: the host of an absolute-form target, else the Host header.
pub fn host(parts: &Parts) -> Cow<'_, str> {
    match parts.uri.authority() {
        Some(authority) => Cow::Borrowed(authority.as_str()),
        None => parts
            .headers
            .get(HOST)
            .map_or(Cow::Borrowed(""), |h| String::from_utf8_lossy(h.as_bytes())),
    }
}

/// The client's address as Go writes it: an IPv4 client of the dual-stack
/// socket is `1.2.3.4:5`, not `[::ffff:1.2.3.4]:5`.
pub fn remote_addr(remote: SocketAddr) -> SocketAddr {
    SocketAddr::new(remote.ip().to_canonical(), remote.port())
}

fn content_length(parts: &Parts) -> u64 {
    parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Every header by its name as Go's `CanonicalMIMEHeaderKey` writes it
/// (`User-Agent`), names sorted, each name's values in the order they came.
/// HTTP/1 parsing in hyper keeps no original case that a handler can read
/// (its case map is private), and whoami shows Go's canonical names.
/// A map, not a sort: the page and `/api` share its code.
pub fn headers(parts: &Parts) -> BTreeMap<String, Vec<&HeaderValue>> {
    let mut headers: BTreeMap<String, Vec<&HeaderValue>> = BTreeMap::new();
    for (name, value) in parts.headers.iter() {
        headers.entry(canonical(name)).or_default().push(value);
    }
    headers
}

/// `x-forwarded-for` → `X-Forwarded-For`.
pub fn canonical(name: &HeaderName) -> String {
    let mut upper = true;
    name.as_str()
        .chars()
        .map(|c| {
            let c = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn names_are_canonical_as_go_writes_them() {
        let name = |s: &str| HeaderName::from_bytes(s.as_bytes()).unwrap();
        assert_eq!(canonical(&name("user-agent")), "User-Agent");
        assert_eq!(canonical(&name("x-forwarded-for")), "X-Forwarded-For");
        assert_eq!(canonical(&name("dnt")), "Dnt");
        assert_eq!(canonical(&name("x--a")), "X--A");
        assert_eq!(canonical(&name("a1-b")), "A1-B");
    }

    #[test]
    fn mapped_ipv4_clients_are_shown_as_ipv4() {
        let mapped = SocketAddr::new(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped().into(), 5);
        assert_eq!(remote_addr(mapped).to_string(), "10.0.0.1:5");
        let v6 = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 5);
        assert_eq!(remote_addr(v6).to_string(), "[::1]:5");
    }
}
