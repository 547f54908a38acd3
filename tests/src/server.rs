//! A server binary (who-server) as a child process on a free port of
//! 127.0.0.1, found from its `listening on http://ADDR` line, killed when
//! dropped so that a failing test leaves nothing behind. The one launcher
//! for the workspace's process tests.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct ServerProcess {
    pub child: Child,
    /// The rest of stdout after the `listening on` line (an access log).
    pub stdout: BufReader<ChildStdout>,
    pub addr: SocketAddr,
    /// The command line, as a failure shows it.
    pub command: String,
}

impl ServerProcess {
    /// Starts `binary --bind 127.0.0.1 --port 0 ARGS`, stderr inherited.
    pub fn start(binary: &str, args: &[&str]) -> ServerProcess {
        ServerProcess::start_with(Command::new(binary), args, Stdio::inherit())
    }

    /// `command --bind 127.0.0.1 --port 0 ARGS`, its stderr to `stderr`
    /// (piped: read it with [`ServerProcess::stderr`] after the exit).
    pub fn start_with(
        mut command: Command,
        args: &[&str],
        stderr: impl Into<Stdio>,
    ) -> ServerProcess {
        command
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(args)
            .stderr(stderr);
        ServerProcess::spawn(command)
    }

    /// Starts `binary ARGS` (no flags added) with as many open descriptors
    /// as the hard limit allows, for tests with many connections.
    pub fn start_with_all_descriptors(binary: &str, args: &[&str]) -> ServerProcess {
        let mut command = Command::new("bash");
        command
            .args(["-c", r#"ulimit -n "$(ulimit -Hn)" && exec "$0" "$@""#])
            .arg(binary)
            .args(args)
            .stderr(Stdio::inherit());
        ServerProcess::spawn(command)
    }

    /// Spawns `command` with stdout piped and waits for its listening line;
    /// if it never comes, panics with command, status, stdout and stderr.
    fn spawn(mut command: Command) -> ServerProcess {
        let shown = format!("{command:?}");
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let _ = stdout.read_line(&mut line);
        let Some(addr) = listening_addr(&line) else {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait for the child");
            panic!(
                "\n\ncommand: {shown}\nstatus: {}\n\nstdout (expected `listening on http://ADDR`):\n{line}\n\nstderr:\n{}\n",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        };
        ServerProcess {
            child,
            stdout,
            addr,
            command: shown,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. "TERM") with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `limit` for the process to exit; None if it is still running.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                return Some((status, start.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// Waits up to `limit` for the exit; panics, saying how long, if none.
    pub fn exit_within(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        self.wait_for_exit(limit)
            .unwrap_or_else(|| panic!("{} still running {limit:?} on", self.command))
    }

    /// All of stderr, once the process has exited (piped stderr only).
    pub fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    }

    /// SIGTERM, exit 0 within 5 s; the lines written to (piped) stderr.
    pub fn stop(&mut self) -> String {
        self.signal("TERM");
        let (status, _) = self.exit_within(Duration::from_secs(5));
        let stderr = self.stderr();
        assert_eq!(
            status.code(),
            Some(0),
            "\n\ncommand: {}\nstatus: {status}\n\nstderr:\n{stderr}\n",
            self.command
        );
        stderr
    }
}

/// The address of a `listening on http://ADDR` line, the one every server
/// of the workspace prints first on stdout (`https://` for who-server
/// built with `tls` and given a certificate).
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let line = line.trim();
    line.strip_prefix("listening on http://")
        .or_else(|| line.strip_prefix("listening on https://"))
        .and_then(|addr| addr.parse().ok())
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::listening_addr;

    #[test]
    fn reads_the_listening_line() {
        assert_eq!(
            listening_addr("listening on http://127.0.0.1:8080\n"),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            listening_addr("listening on https://127.0.0.1:8443"),
            Some("127.0.0.1:8443".parse().unwrap())
        );
        assert_eq!(listening_addr("listening on 127.0.0.1:8080"), None);
    }
}
