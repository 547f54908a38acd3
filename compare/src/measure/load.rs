//! One wrk run inside the container's network namespace (`nsenter
//! --net=/proc/<pid>/ns/net wrk ... http://127.0.0.1:8080/path`, or
//! https:// for an image that serves TLS), so no
//! docker-proxy sits between wrk and the server: through a published port,
//! the proxy caps every server near the same rate. wrk's numbers come from
//! benchkit::wrk's Lua hook; the CPU time is the container cgroup's. When
//! the CPU setting leaves wrk cores of its own, it runs on them (`taskset`:
//! see pinning.rs).

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use benchkit::wrk;
use tokio::process::Command;

use super::cgroup::Cgroup;
use super::contention::{self, Reading};
use super::probe::PORT;
use crate::record::{CONNECTION_CLOSE, OVER_TLS};

/// One round's numbers for one path.
#[derive(Debug)]
pub struct Sample {
    pub report: wrk::Report,
    /// CPU time the container was charged during the load, per request:
    /// the total, user and system.
    pub cpu_us_per_request: Option<PerRequest>,
    /// The contention counters before and after the load.
    pub contention: (Reading, Reading),
}

/// CPU time per request in µs, and its user and kernel parts.
#[derive(Debug, Clone, Copy)]
pub struct PerRequest {
    pub total: f64,
    pub user: f64,
    pub system: f64,
}

/// How wrk loads a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plain HTTP/1.1, kept alive.
    Http,
    /// HTTPS, kept alive: a request's cost over TLS.
    Tls,
    /// HTTPS with `Connection: close`: a new connection per request, and
    /// so a full handshake (wrk, Debian's with OpenSSL, resumes no session).
    TlsHandshakeEach,
}

impl Transport {
    /// The load's name in the report: the path, and what it went over.
    pub fn label(self, path: &str) -> String {
        match self {
            Transport::Http => path.to_owned(),
            Transport::Tls => format!("{path}{OVER_TLS}"),
            Transport::TlsHandshakeEach => format!("{path}{OVER_TLS}{CONNECTION_CLOSE}"),
        }
    }

    fn url(self, path: &str) -> String {
        let scheme = match self {
            Transport::Http => "http",
            Transport::Tls | Transport::TlsHandshakeEach => "https",
        };
        format!("{scheme}://127.0.0.1:{PORT}{path}")
    }

    /// wrk's options for it, before its own.
    fn options(self) -> &'static [&'static str] {
        match self {
            Transport::TlsHandshakeEach => &["-H", "Connection: close"],
            Transport::Http | Transport::Tls => &[],
        }
    }
}

/// Loads `path` of the server `pid` (in `cgroup`) with wrk, on the cores
/// `wrk_cpus` when given (a `taskset -c` list).
pub async fn run_wrk(
    pid: u32,
    cgroup: Option<&Cgroup>,
    path: &str,
    transport: Transport,
    load: &wrk::Load,
    wrk_cpus: Option<&str>,
) -> Result<Sample> {
    let url = transport.url(path);
    let mut command = match wrk_cpus {
        Some(cores) => {
            let mut taskset = Command::new("taskset");
            taskset.args(["-c", cores, "nsenter"]);
            taskset
        }
        None => Command::new("nsenter"),
    };
    command
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg("wrk")
        .args(transport.options())
        .args(wrk::args(&url, load).context("cannot write wrk's report script")?)
        // Ctrl-C drops this future: wrk must not outlive it.
        .kill_on_drop(true);
    let contention_before = contention::read(pid, cgroup);
    let cpu_before = cgroup.map(Cgroup::cpu).transpose()?;
    let limit = load.duration + Duration::from_secs(30);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .map_err(|_| anyhow!("wrk ran past {limit:?}"))?
        .context("cannot run nsenter + wrk (apt-get install wrk util-linux)")?;
    let cpu_after = cgroup.map(Cgroup::cpu).transpose()?;
    let contention_after = contention::read(pid, cgroup);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            stdout.trim()
        );
    }
    let report = wrk::parse(&stdout).map_err(|e| anyhow!(e))?;
    let cpu_us_per_request = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) if report.requests > 0 => {
            let spent = before.until(after);
            let per_request = |ns: u64| ns as f64 / 1000.0 / report.requests as f64;
            Some(PerRequest {
                total: per_request(spent.total_ns),
                user: per_request(spent.user_ns),
                system: per_request(spent.system_ns),
            })
        }
        _ => None,
    };
    Ok(Sample {
        report,
        cpu_us_per_request,
        contention: (contention_before, contention_after),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_loads_go_to_https_and_the_handshake_one_closes_each_connection() {
        assert_eq!(Transport::Http.url("/who"), "http://127.0.0.1:8080/who");
        assert_eq!(Transport::Tls.url("/who"), "https://127.0.0.1:8080/who");
        assert_eq!(
            Transport::TlsHandshakeEach.options(),
            ["-H", "Connection: close"]
        );
        let labels =
            [Transport::Http, Transport::Tls, Transport::TlsHandshakeEach].map(|t| t.label("/who"));
        assert_eq!(
            labels,
            ["/who", "/who over TLS", "/who over TLS, Connection: close"]
        );
    }
}
