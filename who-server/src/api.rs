//! `/api`: traefik/whoami's JSON (v1.11.0, `apiHandler`), field for field
//! and in its order: compact, one line, empty fields left out as Go's
//! `omitempty` leaves them out.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;

use hyper::header::HeaderValue;
use hyper::http::request::Parts;
use serde::{Serialize, Serializer};

use crate::{info, page};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    hostname: Cow<'a, str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    ip: &'a [String],
    /// Go's `Request.Header`: canonical names, each with all its values;
    /// Go moves `Host` out of it into `host`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", serialize_with = "lossy")]
    headers: BTreeMap<String, Vec<&'a HeaderValue>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    url: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    host: Cow<'a, str>,
    method: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    remote_addr: String,
    /// Ours, not whoami's (the `tls` feature): Go's `Request.Proto`
    /// (`HTTP/2.0`), given over TLS or HTTP/2, left out for plain HTTP/1
    /// so that that answer stays whoami's to the byte.
    #[cfg(feature = "tls")]
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    /// Ours: the TLS version and the client's certificates, over TLS.
    #[cfg(feature = "tls")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<Tls<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    environ: BTreeMap<String, String>,
}

#[cfg(feature = "tls")]
#[derive(Serialize)]
struct Tls<'a> {
    /// Go's `tls.VersionName`: `TLS 1.3`.
    version: &'a str,
    /// Each client certificate's subject, as the text page writes it.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    certificates: &'a [String],
}

pub fn describe(parts: &Parts, remote: SocketAddr, name: Option<&str>, env: bool) -> String {
    let hostname = info::hostname();
    let addresses = info::addresses();
    let mut headers = page::headers(parts);
    headers.remove("Host");
    let environ = if env {
        std::env::vars_os()
            .map(|(k, v)| {
                let (k, v) = (k.to_string_lossy(), v.to_string_lossy());
                (k.into_owned(), v.into_owned())
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    #[cfg(feature = "tls")]
    let tls = parts
        .extensions
        .get::<crate::peer::Tls>()
        .map(|crate::peer::Tls(peer)| &**peer);
    let data = Data {
        hostname: String::from_utf8_lossy(&hostname),
        ip: &addresses,
        headers,
        url: page::request_uri(parts),
        host: page::host(parts),
        method: parts.method.as_str(),
        name: name.unwrap_or(""),
        remote_addr: page::remote_addr(remote).to_string(),
        #[cfg(feature = "tls")]
        protocol: (tls.is_some() || parts.version == hyper::Version::HTTP_2)
            .then(|| format!("{:?}", parts.version)),
        #[cfg(feature = "tls")]
        tls: tls.map(|peer| Tls {
            version: peer.version,
            certificates: &peer.subjects,
        }),
        environ,
    };
    // Serializing strings and maps of strings cannot fail.
    let mut json = serde_json::to_string(&data).unwrap_or_default();
    // Go's json.Encoder ends each value with a newline.
    json.push('\n');
    json
}

/// Header values as JSON strings; bytes that are not UTF-8 become U+FFFD.
fn lossy<S: Serializer>(
    headers: &BTreeMap<String, Vec<&HeaderValue>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(headers.iter().map(|(name, values)| {
        let values: Vec<Cow<str>> = values
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .collect();
        (name, values)
    }))
}
