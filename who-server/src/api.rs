//! `GET /api`: what the server knows about itself and the request, in the
//! spirit of traefik/whoami.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use hyper::Request;
use serde::Serialize;

#[derive(Serialize)]
struct Description<'a> {
    hostname: String,
    /// This machine's or container's addresses, loopback included.
    ip: Vec<String>,
    remote_addr: String,
    method: &'a str,
    path: &'a str,
    /// Header names as received (lower-case in HTTP/1 parsing), each with all its values.
    headers: BTreeMap<&'a str, Vec<String>>,
}

pub fn describe<B>(req: &Request<B>, remote: SocketAddr, hostname: String) -> String {
    let mut headers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, value) in req.headers() {
        headers
            .entry(name.as_str())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let description = Description {
        hostname,
        ip: addresses(),
        remote_addr: remote.to_string(),
        method: req.method().as_str(),
        path: req.uri().path(),
        headers,
    };
    // Serializing strings and maps of strings cannot fail.
    serde_json::to_string_pretty(&description).unwrap_or_default()
}

fn addresses() -> Vec<String> {
    if_addrs::get_if_addrs()
        .map(|interfaces| interfaces.iter().map(|i| i.ip().to_string()).collect())
        .unwrap_or_default()
}
