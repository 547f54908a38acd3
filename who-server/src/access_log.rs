//! `--access-log`: one line per request on stdout, written so that a slow
//! or blocked stdout never stalls serving — the design of the error log
//! (`log.rs`): workers only `push` to a bounded queue without waiting, one
//! thread of its own does every blocking write, and lines that find the
//! queue full are counted and the count written once stdout drains.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Lines waiting for stdout; more are dropped and counted.
const QUEUE: usize = 1024;
/// How long the exit waits for the last lines when stdout is blocked.
const GRACE: Duration = Duration::from_millis(200);

/// What one request leaves in the log.
pub struct Entry<'a> {
    pub remote: SocketAddr,
    pub forwarded_for: Option<&'a [u8]>,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub bytes: u64,
    pub took: Duration,
}

/// `2026-11-30T03:50:00.123Z 172.18.0.1:40312 "10.0.0.7" GET /who 200 12 0.052ms`:
/// time, client, `X-Forwarded-For` (`-` when absent), method, path,
/// status, body bytes, time to the answer's head.
pub fn line(at: SystemTime, entry: &Entry) -> String {
    let forwarded = match entry.forwarded_for {
        Some(value) => format!("{:?}", String::from_utf8_lossy(value)),
        None => "-".to_owned(),
    };
    // Integers only: formatting a float would pull ~20 KB of float
    // printing into the binary.
    let micros = entry.took.as_micros();
    format!(
        "{} {} {forwarded} {} {} {} {} {}.{:03}ms",
        Rfc3339Millis(at),
        entry.remote,
        entry.method,
        entry.path,
        entry.status,
        entry.bytes,
        micros / 1000,
        micros % 1000
    )
}

/// `2026-11-30T03:50:00.123Z`: UTC, to the millisecond (a time before
/// 1970 prints as 1970's start; the clock is the system's now).
struct Rfc3339Millis(SystemTime);

impl fmt::Display for Rfc3339Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (year, month, day) = civil_from_days(secs / 86_400);
        let time = secs % 86_400;
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            time / 3600,
            time / 60 % 60,
            time % 60,
            since.subsec_millis()
        )
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01: Howard Hinnant's
/// `civil_from_days`, in unsigned arithmetic (no date before 1970 comes in).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shifted to start on 0000-03-01, so that a leap day ends its year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    lost: AtomicU64,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<String>,
    open: bool,
    done: bool,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The log; dropping it writes what is queued, waiting at most 200 ms.
pub struct AccessLog {
    shared: Arc<Shared>,
}

impl AccessLog {
    /// Starts the thread that writes to stdout.
    pub fn start() -> io::Result<AccessLog> {
        AccessLog::start_with(io::stdout)
    }

    fn start_with<W: Write>(out: impl Fn() -> W + Send + 'static) -> io::Result<AccessLog> {
        let shared = Arc::new(Shared::default());
        shared.queue().open = true;
        let writer = shared.clone();
        thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(&writer, out))?;
        Ok(AccessLog { shared })
    }

    /// Queues the line without waiting; counts it as lost if there is no room.
    pub fn record(&self, entry: &Entry) {
        let line = line(SystemTime::now(), entry);
        let mut queue = self.shared.queue();
        if queue.lines.len() < QUEUE {
            queue.lines.push_back(line);
            self.shared.wake.notify_one();
        } else {
            self.shared.lost.fetch_add(1, Relaxed);
        }
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        let mut queue = self.shared.queue();
        queue.open = false;
        self.shared.wake.notify_all();
        let _ = self
            .shared
            .wake
            .wait_timeout_while(queue, GRACE, |queue| !queue.done);
    }
}

fn write_lines<W: Write>(shared: &Shared, out: impl Fn() -> W) {
    let mut text = String::new();
    loop {
        let (lines, open) = {
            let queue = shared.queue();
            let mut queue = shared
                .wake
                .wait_while(queue, |q| q.open && q.lines.is_empty())
                .unwrap_or_else(|e| e.into_inner());
            (std::mem::take(&mut queue.lines), queue.open)
        };
        text.clear();
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
        let lost = shared.lost.swap(0, Relaxed);
        if lost > 0 {
            text.push_str(&format!(
                "access log: {lost} {} lost while stdout was blocked\n",
                if lost == 1 { "line" } else { "lines" }
            ));
        }
        // Written with the lock released, all at once: workers queue on meanwhile.
        let mut out = out();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        if !open {
            shared.queue().done = true;
            shared.wake.notify_all();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(forwarded_for: Option<&[u8]>) -> Entry<'_> {
        Entry {
            remote: "172.18.0.1:40312".parse().unwrap(),
            forwarded_for,
            method: "GET",
            path: "/who",
            status: 200,
            bytes: 12,
            took: Duration::from_micros(52),
        }
    }

    #[test]
    fn a_line_says_time_client_forwarded_for_method_path_status_bytes_and_duration() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_474_600_123);
        assert_eq!(
            line(at, &entry(None)),
            "2025-11-30T03:50:00.123Z 172.18.0.1:40312 - GET /who 200 12 0.052ms"
        );
        assert_eq!(
            line(at, &entry(Some(b"10.0.0.7, 10.0.0.8"))),
            "2025-11-30T03:50:00.123Z 172.18.0.1:40312 \"10.0.0.7, 10.0.0.8\" GET /who 200 12 0.052ms"
        );
    }

    #[test]
    fn timestamps_are_rfc3339_utc_to_the_millisecond() {
        let at =
            |millis: u64| Rfc3339Millis(UNIX_EPOCH + Duration::from_millis(millis)).to_string();
        // Checked against `date -u -d @SECONDS +%FT%T`.
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(999), "1970-01-01T00:00:00.999Z");
        assert_eq!(at(86_399_999), "1970-01-01T23:59:59.999Z");
        assert_eq!(at(951_782_400_000), "2000-02-29T00:00:00.000Z"); // leap day, 400-year rule
        assert_eq!(at(951_868_800_000), "2000-03-01T00:00:00.000Z");
        assert_eq!(at(1_078_012_800_000), "2004-02-29T00:00:00.000Z");
        assert_eq!(at(4_107_542_400_000), "2100-03-01T00:00:00.000Z"); // 2100: no leap day
        assert_eq!(at(4_107_456_000_000), "2100-02-28T00:00:00.000Z");
        assert_eq!(at(1_767_225_599_001), "2025-12-31T23:59:59.001Z");
        assert_eq!(at(1_767_225_600_000), "2026-01-01T00:00:00.000Z");
        assert_eq!(at(1_798_675_200_042), "2026-12-31T00:00:00.042Z");
        assert_eq!(at(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        // Before 1970: the epoch, not a panic.
        assert_eq!(
            Rfc3339Millis(UNIX_EPOCH - Duration::from_secs(1)).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn days_become_dates_across_every_month_and_year_end() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(31), (1970, 2, 1));
        assert_eq!(civil_from_days(58), (1970, 2, 28));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(364), (1970, 12, 31));
        assert_eq!(civil_from_days(365), (1971, 1, 1));
        assert_eq!(civil_from_days(789), (1972, 2, 29));
        assert_eq!(civil_from_days(10_956), (1999, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_422), (2025, 11, 30));
    }

    /// Collects what is written; the first write waits until `release`.
    #[derive(Clone)]
    struct Sink {
        written: Arc<Mutex<Vec<u8>>>,
        gate: Arc<(Mutex<bool>, Condvar)>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (open, wake) = &*self.gate;
            drop(
                wake.wait_while(open.lock().unwrap(), |open| !*open)
                    .unwrap(),
            );
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_that_find_the_queue_full_are_counted_and_said_once_stdout_drains() {
        let sink = Sink {
            written: Arc::default(),
            gate: Arc::default(),
        };
        let (written, gate) = (sink.written.clone(), sink.gate.clone());
        let log = AccessLog::start_with(move || sink.clone()).unwrap();
        log.record(&entry(None));
        // The writer took the first line and is stuck writing it.
        while !log.shared.queue().lines.is_empty() {
            thread::sleep(Duration::from_millis(1));
        }
        for _ in 0..QUEUE + 3 {
            log.record(&entry(None));
        }
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        drop(log);
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text.lines().filter(|l| l.ends_with(" 0.052ms")).count(),
            QUEUE + 1
        );
        assert_eq!(
            text.lines().last(),
            Some("access log: 3 lines lost while stdout was blocked")
        );
    }
}
