//! The error log, kept off the request path.
//!
//! A line per failed connection let a flood of bad requests fill a disk, and
//! once nobody read stderr, the blocked write stopped the server. So workers
//! only bump counters (and, for rare one-off lines, `try_send` to a bounded
//! queue), and one plain thread of its own does every blocking write: at
//! most one summary line per kind of error per interval, e.g.
//! `header timeout: cut off 300 clients in the last 10 s`.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Errors that clients cause, counted rather than logged one by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// No whole request head within `--header-timeout`.
    HeaderTimeout,
    /// A request hyper could not parse (it answers 400 or closes).
    BadRequest,
    /// The client reset the connection mid-exchange.
    Reset,
    /// `accept` failed (out of descriptors, a connection reset in the backlog).
    Accept,
    /// Any other connection error.
    Other,
}

const KINDS: [Kind; 5] = [
    Kind::HeaderTimeout,
    Kind::BadRequest,
    Kind::Reset,
    Kind::Accept,
    Kind::Other,
];

/// One-off lines waiting for the writer; more are dropped and counted.
const QUEUE: usize = 16;

/// What the workers share: counters they bump without ever waiting.
#[derive(Default)]
pub struct Counters {
    counts: [AtomicU64; KINDS.len()],
    /// errno of the last failed accept, for the summary line.
    last_accept_errno: AtomicI32,
    /// The last unclassified connection error; `try_lock` only, never waits.
    last_other: Mutex<String>,
    /// One-off lines that found the queue full.
    lost: AtomicU64,
    /// A plain queue rather than `std::sync::mpsc`: 8 KB smaller binary.
    queue: Mutex<Queue>,
    /// Wakes the writer for a queued line or the end, and the end for the writer.
    wake: Condvar,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<String>,
    /// A writer takes lines; set by [`Writer::start`], cleared by [`Writer::finish`].
    open: bool,
    /// The writer wrote its last summary.
    done: bool,
}

impl Counters {
    pub fn count(&self, kind: Kind) {
        self.counts[kind as usize].fetch_add(1, Relaxed);
    }

    pub fn accept_failed(&self, e: &io::Error) {
        self.last_accept_errno
            .store(e.raw_os_error().unwrap_or(0), Relaxed);
        self.count(Kind::Accept);
    }

    pub fn other(&self, e: &dyn std::error::Error) {
        if let Ok(mut last) = self.last_other.try_lock() {
            *last = e.to_string();
        }
        self.count(Kind::Other);
    }

    /// Queues a one-off line for the writer without waiting; when the queue
    /// is full (stderr blocked) the line is counted as lost instead.
    pub fn say(&self, line: String) {
        // The lock is never held across a write, only to push or take lines.
        let mut queue = self.queue();
        if queue.open && queue.lines.len() < QUEUE {
            queue.lines.push_back(line);
            self.wake.notify_all();
        } else {
            self.lost.fetch_add(1, Relaxed);
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The summary lines for the counts since the last call, which was
    /// `elapsed` ago; the counters restart from zero.
    pub fn summary(&self, elapsed: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        for kind in KINDS {
            let n = self.counts[kind as usize].swap(0, Relaxed);
            if n > 0 {
                lines.push(self.line(kind, n, elapsed));
            }
        }
        let lost = self.lost.swap(0, Relaxed);
        if lost > 0 {
            lines.push(format!(
                "log: {lost} {} lost while stderr was blocked",
                plural(lost, "line", "lines")
            ));
        }
        lines
    }

    fn line(&self, kind: Kind, n: u64, elapsed: Duration) -> String {
        let clients = plural(n, "client", "clients");
        // Whole seconds, as intervals are; a last summary at exit may be shorter.
        let ms = elapsed.as_millis() as u64;
        let within = if ms < 1000 {
            format!("in the last {ms} ms")
        } else {
            format!("in the last {} s", (ms + 500) / 1000)
        };
        match kind {
            Kind::HeaderTimeout => format!("header timeout: cut off {n} {clients} {within}"),
            Kind::BadRequest => format!(
                "bad request: refused {n} malformed {} {within}",
                plural(n, "request", "requests")
            ),
            Kind::Reset => format!("connection reset: by {n} {clients} {within}"),
            Kind::Accept => format!(
                "accept failed: {n} {} {within}, last: {}",
                plural(n, "time", "times"),
                io::Error::from_raw_os_error(self.last_accept_errno.load(Relaxed))
            ),
            Kind::Other => {
                let last = self
                    .last_other
                    .try_lock()
                    .map(|last| last.clone())
                    .unwrap_or_default();
                format!(
                    "connection error: {n} {} {within}, last: {last}",
                    plural(n, "time", "times")
                )
            }
        }
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// The thread that writes the log; [`Writer::finish`] stops it.
pub struct Writer {
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the writer: it summarises `counters` to stderr every `interval`.
    pub fn start(counters: Arc<Counters>, interval: Duration) -> io::Result<Writer> {
        counters.queue().open = true;
        let shared = counters.clone();
        thread::Builder::new()
            .name("log".into())
            .spawn(move || write_log(&shared, interval))?;
        Ok(Writer { counters })
    }

    /// Writes what is queued and the last summary, waiting at most `grace`
    /// for stderr: a log nobody reads must not hold up the exit.
    pub fn finish(self, grace: Duration) {
        let counters = &self.counters;
        let mut queue = counters.queue();
        queue.open = false;
        counters.wake.notify_all();
        let _ = counters
            .wake
            .wait_timeout_while(queue, grace, |queue| !queue.done);
    }
}

fn write_log(counters: &Counters, interval: Duration) {
    let mut since = Instant::now();
    loop {
        let wait = (since + interval).saturating_duration_since(Instant::now());
        let (lines, open) = {
            let queue = counters.queue();
            let (mut queue, _) = counters
                .wake
                .wait_timeout_while(queue, wait, |q| q.open && q.lines.is_empty())
                .unwrap_or_else(|e| e.into_inner());
            (std::mem::take(&mut queue.lines), queue.open)
        };
        // Written with the lock released: workers queue on meanwhile.
        lines.iter().for_each(|line| write_line(line));
        let now = Instant::now();
        if !open || now >= since + interval {
            counters
                .summary(now - since)
                .iter()
                .for_each(|l| write_line(l));
            since = now;
        }
        if !open {
            counters.queue().done = true;
            counters.wake.notify_all();
            return;
        }
    }
}

/// The one place that waits for stderr.
fn write_line(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_S: Duration = Duration::from_secs(10);

    #[test]
    fn each_kind_sums_up_in_one_line_with_its_count() {
        let counters = Counters::default();
        (0..300).for_each(|_| counters.count(Kind::HeaderTimeout));
        counters.count(Kind::BadRequest);
        (0..2).for_each(|_| counters.count(Kind::Reset));
        counters.accept_failed(&io::Error::from_raw_os_error(24));
        counters.other(&io::Error::other("boom"));
        counters.other(&io::Error::other("bang"));
        assert_eq!(
            counters.summary(TEN_S),
            [
                "header timeout: cut off 300 clients in the last 10 s",
                "bad request: refused 1 malformed request in the last 10 s",
                "connection reset: by 2 clients in the last 10 s",
                "accept failed: 1 time in the last 10 s, last: Too many open files (os error 24)",
                "connection error: 2 times in the last 10 s, last: bang",
            ]
        );
        assert!(counters.summary(TEN_S).is_empty(), "counts restart from 0");
    }

    #[test]
    fn singular_and_plural_and_short_intervals_read_right() {
        let counters = Counters::default();
        counters.count(Kind::HeaderTimeout);
        (0..3).for_each(|_| counters.count(Kind::BadRequest));
        counters.count(Kind::Reset);
        (0..2).for_each(|_| counters.accept_failed(&io::Error::from_raw_os_error(24)));
        counters.other(&io::Error::other("boom"));
        assert_eq!(
            counters.summary(Duration::from_millis(999)),
            [
                "header timeout: cut off 1 client in the last 999 ms",
                "bad request: refused 3 malformed requests in the last 999 ms",
                "connection reset: by 1 client in the last 999 ms",
                "accept failed: 2 times in the last 999 ms, last: Too many open files (os error 24)",
                "connection error: 1 time in the last 999 ms, last: boom",
            ]
        );
        counters.count(Kind::Reset);
        assert_eq!(
            counters.summary(Duration::from_millis(1000)),
            ["connection reset: by 1 client in the last 1 s"]
        );
        counters.count(Kind::Reset);
        assert_eq!(
            counters.summary(Duration::from_millis(1499)),
            ["connection reset: by 1 client in the last 1 s"]
        );
        counters.count(Kind::Reset);
        assert_eq!(
            counters.summary(Duration::from_millis(1500)),
            ["connection reset: by 1 client in the last 2 s"]
        );
    }

    #[test]
    fn lines_that_find_no_room_are_counted_and_said() {
        let counters = Counters::default();
        counters.say("no writer yet".into());
        assert_eq!(
            counters.summary(TEN_S),
            ["log: 1 line lost while stderr was blocked"]
        );
        counters.queue().open = true;
        (0..QUEUE + 2).for_each(|i| counters.say(format!("line {i}")));
        assert_eq!(counters.queue().lines.len(), QUEUE);
        assert_eq!(
            counters.summary(TEN_S),
            ["log: 2 lines lost while stderr was blocked"]
        );
    }

    #[test]
    fn a_queued_line_does_not_bring_the_summary_forward() {
        let counters = Arc::new(Counters::default());
        let writer = Writer::start(counters.clone(), Duration::from_secs(3600)).unwrap();
        counters.count(Kind::Reset);
        counters.say("a one-off line, on the test's stderr".into());
        // Once the writer took the line, give it time to (wrongly) sum up.
        for _ in 0..500 {
            if counters.queue().lines.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            counters.summary(TEN_S),
            ["connection reset: by 1 client in the last 10 s"],
            "the count is still there, not summed up an hour early"
        );
        writer.finish(Duration::from_secs(5));
    }

    #[test]
    fn the_writer_sums_up_every_interval_and_once_more_when_finished() {
        // Exercised end to end on stderr by tests/logging.rs; here, that
        // finish returns and leaves the counters read.
        let counters = Arc::new(Counters::default());
        let writer = Writer::start(counters.clone(), Duration::from_millis(20)).unwrap();
        counters.count(Kind::Reset);
        std::thread::sleep(Duration::from_millis(100));
        counters.count(Kind::BadRequest);
        counters.say("said".into());
        writer.finish(Duration::from_secs(5));
        assert!(counters.summary(TEN_S).is_empty());
        counters.say("after".into());
        assert_eq!(
            counters.summary(TEN_S),
            ["log: 1 line lost while stderr was blocked"],
            "a finished writer takes no more lines"
        );
    }
}
