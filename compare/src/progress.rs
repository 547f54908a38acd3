//! What the run shows while it works: one line per step on stderr, with
//! the time since the run began, how far it is (step N of M) and about how
//! long is left (the steps timed so far, averaged, times the steps left),
//! so a terminal and a CI log read the same.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Progress {
    started: Instant,
    steps: Arc<Mutex<Steps>>,
}

#[derive(Default)]
struct Steps {
    total: usize,
    /// Steps begun (the one under way included).
    begun: usize,
    /// Steps that will not run (their image failed): no longer left.
    skipped: usize,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Self {
            started: Instant::now(),
            steps: Arc::new(Mutex::new(Steps {
                total,
                ..Steps::default()
            })),
        }
    }

    /// The next step begins: `[1m 12s] step 9 of 40, about 5m left: who:rust: build, round 1`.
    pub fn begin(&self, tag: &str, what: &str) {
        let line = {
            let mut steps = self.lock();
            steps.begun += 1;
            let elapsed = self.started.elapsed();
            // The steps done are those begun before this one.
            let left = match left(elapsed, steps.begun - 1, steps.remaining()) {
                Some(left) => format!(", about {} left", humantime::format_duration(left)),
                None => String::new(),
            };
            format!(
                "[{}] step {} of {}{left}: {tag}: {what}",
                whole_seconds(elapsed),
                steps.begun + steps.skipped,
                steps.total
            )
        };
        eprintln!("{line}");
    }

    /// A part of the step under way: `[1m 14s] who:rust: wrk /who for 5s`.
    pub fn note(&self, tag: &str, what: &str) {
        eprintln!("[{}] {tag}: {what}", whole_seconds(self.started.elapsed()));
    }

    /// `n` planned steps will not run.
    pub fn skip(&self, n: usize) {
        self.lock().skipped += n;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Steps> {
        self.steps.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Steps {
    /// Steps not yet begun, this one's included.
    fn remaining(&self) -> usize {
        self.total.saturating_sub(self.begun + self.skipped) + 1
    }
}

/// About how long `remaining` steps take at the pace of the `done` ones;
/// None before any step is done.
fn left(elapsed: Duration, done: usize, remaining: usize) -> Option<Duration> {
    let done = u32::try_from(done).ok().filter(|&d| d > 0)?;
    let remaining = u32::try_from(remaining).ok()?;
    Some(Duration::from_secs((elapsed / done * remaining).as_secs()))
}

fn whole_seconds(duration: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_secs(duration.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_left_goes_at_the_pace_of_what_is_done() {
        assert_eq!(left(Duration::from_secs(60), 0, 10), None);
        assert_eq!(
            left(Duration::from_secs(60), 3, 10),
            Some(Duration::from_secs(200))
        );
    }
}
