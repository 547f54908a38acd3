use std::fmt;
use std::io::Read;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

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

/// Like [`run`], with stdout and stderr always captured, but the command is
/// killed if it is still running after `limit` (its status then says it
/// was killed, which fails any exit code check): a test of a command that
/// should end fails instead of hanging when the command does not.
pub fn run_within(command: &mut Command, limit: Duration) -> Outcome {
    let shown = format!("{command:?}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let read = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("piped stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            break status;
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            break child.wait().expect("wait for the killed child");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Outcome {
        command: shown,
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// `Command::new(bin).args(..).outcome()` reads like the shell line it runs.
pub trait CommandExt {
    fn outcome(&mut self) -> Outcome;
    /// [`run_within`]: captures stdout and stderr, kills past `limit`.
    fn outcome_within(&mut self, limit: Duration) -> Outcome;
}

impl CommandExt for Command {
    fn outcome(&mut self) -> Outcome {
        run(self)
    }

    fn outcome_within(&mut self, limit: Duration) -> Outcome {
        run_within(self, limit)
    }
}
