//! A fixed HTTP load with wrk, run inside the container's network namespace
//! (`nsenter --net=/proc/<pid>/ns/net wrk ... http://127.0.0.1:8080/path`),
//! so no docker-proxy sits between wrk and the server: through a published
//! port, the proxy caps every server near the same rate.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::process::Command;

use crate::record::Load;

use super::probe::PORT;

#[derive(Debug, Clone, Copy)]
pub struct LoadSettings {
    pub threads: u32,
    pub connections: u32,
    pub duration: Duration,
}

pub async fn run_wrk(pid: u32, path: &str, settings: LoadSettings) -> Result<Load> {
    let url = format!("http://127.0.0.1:{PORT}{path}");
    let mut command = Command::new("nsenter");
    command
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg("wrk")
        .arg(format!("-t{}", settings.threads))
        .arg(format!("-c{}", settings.connections))
        .arg(format!("-d{}s", settings.duration.as_secs().max(1)))
        .arg("--latency")
        .arg(&url)
        // Ctrl-C drops this future: wrk must not outlive it.
        .kill_on_drop(true);
    let limit = settings.duration + Duration::from_secs(30);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .map_err(|_| anyhow!("wrk ran past {limit:?}"))?
        .context("cannot run nsenter + wrk (apt-get install wrk util-linux)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            stdout.trim()
        );
    }
    parse_wrk(path, &stdout).with_context(|| format!("cannot read wrk's output:\n{stdout}"))
}

/// Reads wrk's `--latency` report.
pub fn parse_wrk(path: &str, text: &str) -> Result<Load> {
    let mut requests = None;
    let mut requests_per_s = None;
    let (mut p50, mut p99) = (None, None);
    let mut errors = 0;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => p50 = Some(duration_ms(value)?),
            ["99%", value] => p99 = Some(duration_ms(value)?),
            ["Requests/sec:", value] => requests_per_s = Some(value.parse()?),
            [count, "requests", "in", ..] => requests = Some(count.parse()?),
            ["Non-2xx", "or", "3xx", "responses:", count] => errors += count.parse::<u64>()?,
            // Socket errors: connect 0, read 0, write 0, timeout 0
            ["Socket", "errors:", rest @ ..] => {
                for count in rest.iter().skip(1).step_by(2) {
                    errors += count.trim_end_matches(',').parse::<u64>()?;
                }
            }
            _ => {}
        }
    }
    Ok(Load {
        path: path.to_owned(),
        requests: requests.ok_or_else(|| anyhow!("no request count"))?,
        requests_per_s: requests_per_s.ok_or_else(|| anyhow!("no Requests/sec"))?,
        latency_p50_ms: p50.ok_or_else(|| anyhow!("no 50% latency"))?,
        latency_p99_ms: p99.ok_or_else(|| anyhow!("no 99% latency"))?,
        errors,
    })
}

/// wrk writes `812.00us`, `1.23ms`, `2.01s`, `1.50m`.
fn duration_ms(value: &str) -> Result<f64> {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| anyhow!("no unit in {value:?}"))?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse()?;
    Ok(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        "h" => number * 3_600_000.0,
        other => bail!("unknown unit {other:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 10s test @ http://127.0.0.1:8080/who
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  512.11us  20.00ms   90.00%
    Req/Sec    31.00k     1.00k   35.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.10ms
     90%    1.50ms
     99%    3.20ms
  620000 requests in 10.00s, 70.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  61999.50
Transfer/sec:      7.00MB
";

    #[test]
    fn reads_a_wrk_report() {
        let load = parse_wrk("/who", REPORT).unwrap();
        assert_eq!(load.requests, 620_000);
        assert_eq!(load.requests_per_s, 61_999.5);
        assert!((load.latency_p50_ms - 0.812).abs() < 1e-9);
        assert_eq!(load.latency_p99_ms, 3.2);
        assert_eq!(load.errors, 7);
    }

    #[test]
    fn rejects_what_is_not_a_report() {
        assert!(parse_wrk("/", "unable to connect to 127.0.0.1:8080").is_err());
        assert!((duration_ms("2.01s").unwrap() - 2010.0).abs() < 1e-9);
    }
}
