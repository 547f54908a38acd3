//! wrk's own numbers: a Lua `done()` hook (wrk-report.lua) prints them as
//! one JSON line, so nothing parses wrk's human report. compare and the
//! hostile-client tests both run wrk through here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The hook, written to a file at first use: wrk takes a script path.
const SCRIPT: &str = include_str!("wrk-report.lua");
/// The line the hook prints its JSON on, after wrk's own report.
const MARKER: &str = "WRK_JSON ";

/// How hard and how long wrk loads a URL.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub threads: u32,
    pub connections: u32,
    /// Whole seconds: wrk rounds anything else.
    pub duration: Duration,
    /// A request without an answer by then counts as a timeout error.
    pub timeout: Duration,
}

/// What one wrk run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub duration_us: u64,
    pub requests: u64,
    pub bytes: u64,
    pub errors: Errors,
    pub latency_us: Latency,
}

/// wrk's error counts by kind; `status` is answers other than 2xx and 3xx.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Errors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub status: u64,
    pub timeout: u64,
}

/// Latency percentiles over every request, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
}

impl Errors {
    /// Connection-level failures: connect, read, write and timeout.
    pub fn socket(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout
    }

    pub fn total(&self) -> u64 {
        self.socket() + self.status
    }
}

/// Counts of several runs, kind by kind.
impl std::ops::Add for Errors {
    type Output = Errors;

    fn add(self, other: Errors) -> Errors {
        Errors {
            connect: self.connect + other.connect,
            read: self.read + other.read,
            write: self.write + other.write,
            status: self.status + other.status,
            timeout: self.timeout + other.timeout,
        }
    }
}

impl Report {
    pub fn requests_per_s(&self) -> f64 {
        if self.duration_us == 0 {
            return 0.0;
        }
        self.requests as f64 * 1e6 / self.duration_us as f64
    }
}

/// wrk's arguments (without the program) for loading `url`.
pub fn args(url: &str, load: &Load) -> std::io::Result<Vec<String>> {
    Ok(vec![
        format!("-t{}", load.threads),
        format!("-c{}", load.connections),
        format!("-d{}s", load.duration.as_secs().max(1)),
        format!("--timeout={}s", load.timeout.as_secs().max(1)),
        "-s".to_owned(),
        script()?.display().to_string(),
        url.to_owned(),
    ])
}

/// Reads the report from wrk's standard output.
pub fn parse(stdout: &str) -> Result<Report, String> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(MARKER))
        .ok_or_else(|| format!("wrk printed no {}line: {}", MARKER, stdout.trim()))?;
    serde_json::from_str(line).map_err(|e| format!("wrk's report {line:?}: {e}"))
}

/// The hook's path: one file per version of it, written whole (a temporary
/// renamed into place), so parallel tests never see half of it.
fn script() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("wrk-report-{:016x}.lua", fnv1a(SCRIPT.as_bytes())));
    if !path.exists() {
        write_atomically(&dir, &path)?;
    }
    Ok(path)
}

fn write_atomically(dir: &Path, path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(SCRIPT.as_bytes())?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A stable hash of the script, so a changed hook gets a new file.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 1s test @ http://127.0.0.1:1/\n  Requests/sec: 1300.10\n\
        WRK_JSON {\"duration_us\":2000000,\"requests\":1304,\"bytes\":3343612,\
        \"errors\":{\"connect\":1,\"read\":2,\"write\":3,\"status\":4,\"timeout\":5},\
        \"latency_us\":{\"p50\":1072,\"p90\":3113,\"p99\":11262,\"p99_9\":17093,\"max\":18018}}\n";

    #[test]
    fn reads_the_hooks_json_line() {
        let report = parse(OUTPUT).unwrap();
        assert_eq!(report.requests, 1304);
        assert_eq!(report.requests_per_s(), 652.0);
        assert_eq!(report.errors.socket(), 11);
        assert_eq!(report.errors.total(), 15);
        assert_eq!((report.errors + report.errors).total(), 30);
        assert_eq!(report.latency_us.p99_9, 17093);
    }

    #[test]
    fn a_report_without_the_hook_line_is_an_error() {
        let error = parse("unable to connect to 127.0.0.1:1 Connection refused\n").unwrap_err();
        assert!(error.contains("Connection refused"), "{error}");
    }

    #[test]
    fn the_script_is_written_once_whole() {
        let path = script().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), SCRIPT);
        assert_eq!(script().unwrap(), path);
    }
}
