use std::fmt;
use std::process::{Command, ExitStatus, Output};

/// A finished command with everything needed to explain a failure.
pub struct Outcome {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n\ncommand: {}\nstatus: {}\n\nstdout:\n{}\n\nstderr:\n{}\n",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

impl Outcome {
    /// Asserts exit code `code` and returns self for more checks.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.status.code(),
            Some(code),
            "unexpected exit status{self}"
        );
        self
    }

    /// Asserts the way bad input must fail: exit `code` and one line on
    /// stderr, never a panic or a backtrace.
    #[track_caller]
    pub fn expect_one_line_error(self, code: i32) -> Self {
        let this = self.expect_code(code);
        assert_eq!(
            this.stderr.lines().count(),
            1,
            "expected one line on stderr{this}"
        );
        assert!(!this.stderr.contains("panicked"), "a panic{this}");
        this
    }

    #[track_caller]
    pub fn expect_success(self) -> Self {
        self.expect_code(0)
    }
}

/// Runs `command` to completion, capturing its output.
pub fn run(command: &mut Command) -> Outcome {
    let shown = format!("{command:?}");
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .output()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    Outcome {
        command: shown,
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `Command::new(bin).args(..).outcome()` reads like the shell line it runs.
pub trait CommandExt {
    fn outcome(&mut self) -> Outcome;
}

impl CommandExt for Command {
    fn outcome(&mut self) -> Outcome {
        run(self)
    }
}
