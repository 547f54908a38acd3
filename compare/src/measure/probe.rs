//! HTTP GETs to 127.0.0.1:8080 inside a container's network namespace,
//! over TLS for an image that serves it (trusting the run's test
//! certificate alone).
//!
//! Why inside: the container's own address is on a private bridge range we
//! never send traffic to, and a published port goes through docker-proxy,
//! which adds its own start-up and caps throughput. A thread of ours joins
//! the container's namespace (setns) and asks from there, as wrk does under
//! nsenter, so start time and load take the same path.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use benchkit::tls;
use nix::sched::{setns, CloneFlags};

pub const PORT: u16 = 8080;
/// Between two tries while the server is not up yet: small against the
/// start times measured (milliseconds), large enough not to spin.
const RETRY: Duration = Duration::from_millis(2);

/// Polls `path` until it answers 200 or `deadline` passes; over TLS with `tls`.
pub async fn wait_for_200(
    pid: u32,
    path: &str,
    deadline: Duration,
    tls: Option<tls::Client>,
) -> Result<()> {
    let path = path.to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A thread of its own, never a pooled one: after setns it belongs to
    // the container's namespace and must not serve anything else.
    thread::Builder::new()
        .name(format!("probe-{pid}"))
        .spawn(move || {
            let _ = tx.send(poll(pid, &path, deadline, tls));
        })
        .context("cannot start the probe thread")?;
    rx.await.context("the probe thread died")?
}

fn poll(pid: u32, path: &str, deadline: Duration, tls: Option<tls::Client>) -> Result<()> {
    let netns = File::open(format!("/proc/{pid}/ns/net"))
        .with_context(|| format!("cannot open the network namespace of pid {pid}"))?;
    setns(&netns, CloneFlags::CLONE_NEWNET)
        .context("cannot join the container's network namespace")?;
    let started = Instant::now();
    let mut last_error = anyhow!("no answer");
    while started.elapsed() < deadline {
        match get(path, tls.as_ref()) {
            Ok(200) => return Ok(()),
            Ok(status) => last_error = anyhow!("GET {path} answered {status}"),
            Err(e) => last_error = e,
        }
        thread::sleep(RETRY);
    }
    bail!("no 200 from {path} within {deadline:?}: {last_error}")
}

/// One HTTP/1.1 GET, over TLS with `tls`; returns the status code.
fn get(path: &str, tls: Option<&tls::Client>) -> Result<u16> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, PORT));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    if let Some(client) = tls {
        return Ok(tls::get(stream, client.clone(), path)?);
    }
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    tls::status_code(&head)
        .ok_or_else(|| anyhow!("not an HTTP answer: {:?}", String::from_utf8_lossy(&head)))
}
