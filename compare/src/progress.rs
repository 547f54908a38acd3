//! What the run shows while it works: an overall bar (images done) and a
//! spinner for the current image and step, with the step's elapsed time.
//! Without a terminal (CI logs) each step becomes one plain line instead.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
    step: ProgressBar,
    plain: bool,
}

impl Progress {
    pub fn new(total: u64) -> Self {
        let plain = !std::io::stderr().is_terminal();
        let target = if plain {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} images  {elapsed}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        let step = multi.add(ProgressBar::new_spinner());
        step.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} {elapsed:>5}")
                .expect("valid template"),
        );
        step.enable_steady_tick(Duration::from_millis(120));
        Self {
            multi,
            overall,
            step,
            plain,
        }
    }

    /// A new phase of the run (`build`, `measure`): the overall bar restarts.
    pub fn phase(&self, name: &str, total: u64) {
        self.overall.set_prefix(name.to_owned());
        self.overall.set_length(total);
        self.overall.set_position(0);
        self.overall.reset_elapsed();
    }

    /// A new step for `tag`; its elapsed time starts now.
    pub fn step(&self, tag: &str, what: &str) {
        self.step.set_prefix(tag.to_owned());
        self.step.set_message(what.to_owned());
        self.step.reset_elapsed();
        if self.plain {
            eprintln!("{tag}: {what}");
        }
    }

    pub fn image_done(&self) {
        self.overall.inc(1);
    }

    /// A line that stays above the bars.
    pub fn println(&self, line: &str) {
        if self.plain || self.multi.is_hidden() {
            eprintln!("{line}");
        } else {
            self.multi.suspend(|| eprintln!("{line}"));
        }
    }

    pub fn finish(&self) {
        self.step.finish_and_clear();
        self.overall.finish_and_clear();
    }
}
