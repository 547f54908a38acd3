//! `--access-log`: one line per request on stdout, written so that a slow
//! or blocked stdout never stalls serving — the design of the error log
//! (`log.rs`): workers only `push` to a bounded queue without waiting, one
//! thread of its own does every blocking write, and lines that find the
//! queue full are counted and the count written once stdout drains.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, SystemTime};

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
        humantime::format_rfc3339_millis(at),
        entry.remote,
        entry.method,
        entry.path,
        entry.status,
        entry.bytes,
        micros / 1000,
        micros % 1000
    )
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
