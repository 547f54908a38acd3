use std::fmt;
use std::io::Read;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::thread::{self, JoinHandle};
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
    start(command).wait_within(limit)
}

/// Starts `command` with stdout and stderr captured by a thread each (a
/// full pipe never stalls it), for a test that acts while it runs; its
/// stdin is whatever `command` set, e.g. `Stdio::piped()` for a client
/// told to finish by [`Running::close_stdin`].
pub fn start(command: &mut Command) -> Running {
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
    Running {
        command: shown,
        stdin: child.stdin.take(),
        child,
        output: Some((stdout, stderr)),
    }
}

/// A command [`start`]ed and not yet waited for. Dropped unfinished (a
/// test that failed first), it is killed.
pub struct Running {
    command: String,
    child: Child,
    stdin: Option<ChildStdin>,
    output: Option<(JoinHandle<String>, JoinHandle<String>)>,
}

impl Running {
    /// Closes the command's stdin, if it was piped: end of input.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Waits for the command to end, killing it after `limit` (as
    /// [`run_within`] does), and returns everything it printed.
    pub fn wait_within(mut self, limit: Duration) -> Outcome {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                break status;
            }
            if start.elapsed() >= limit {
                let _ = self.child.kill();
                break self.child.wait().expect("wait for the killed child");
            }
            thread::sleep(Duration::from_millis(10));
        };
        let (stdout, stderr) = self.output.take().expect("waited for once");
        Outcome {
            command: self.command.clone(),
            status,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.output.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
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
