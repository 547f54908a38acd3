//! What the run shows while it works: one line per step on stderr, with
//! the phase's count and the time since the run began, so a terminal and a
//! CI log read the same.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone)]
pub struct Progress {
    started: Instant,
    /// The phase's name and size; its count of finished items.
    phase: Arc<Mutex<(String, u64)>>,
    done: Arc<AtomicU64>,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            phase: Arc::new(Mutex::new((String::new(), 0))),
            done: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A new phase of the run (`build`, `measure`): the count restarts.
    pub fn phase(&self, name: &str, total: u64) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = (name.to_owned(), total);
        self.done.store(0, Ordering::Relaxed);
    }

    /// A step of `tag`'s work: `[measure 3/84, 1m 12s] who:rust: wrk /who`.
    pub fn step(&self, tag: &str, what: &str) {
        let (name, total) = self.phase.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = humantime::format_duration(std::time::Duration::from_secs(
            self.started.elapsed().as_secs(),
        ));
        eprintln!(
            "[{name} {}/{total}, {elapsed}] {tag}: {what}",
            (done + 1).min(total)
        );
    }

    pub fn image_done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// A line of news, as it is.
    pub fn println(&self, line: &str) {
        eprintln!("{line}");
    }
}
