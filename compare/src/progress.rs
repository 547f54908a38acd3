//! What the run shows while it works: one line per step on stderr, with
//! the time since the run began, so a terminal and a CI log read the same.

use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Progress {
    started: Instant,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
        }
    }

    /// A step of `tag`'s work: `[1m 12s] who:rust: wrk /who for 5s`.
    pub fn step(&self, tag: &str, what: &str) {
        let elapsed = Duration::from_secs(self.started.elapsed().as_secs());
        eprintln!("[{}] {tag}: {what}", humantime::format_duration(elapsed));
    }
}
