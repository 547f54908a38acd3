use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A server binary running as a child process on a free port of 127.0.0.1,
/// killed when dropped so that a failing test leaves nothing behind.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `binary --bind 127.0.0.1 --port 0 ARGS` and waits for its
    /// `listening on http://ADDR` line.
    pub fn start(binary: &str, args: &[&str]) -> ServerProcess {
        let mut command = Command::new(binary);
        command
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(args);
        ServerProcess::spawn(command)
    }

    /// Starts `binary ARGS` (no flags added) with as many open descriptors
    /// as the hard limit allows, for tests with many connections.
    pub fn start_with_all_descriptors(binary: &str, args: &[&str]) -> ServerProcess {
        let mut command = Command::new("bash");
        command
            .args(["-c", r#"ulimit -n "$(ulimit -Hn)" && exec "$0" "$@""#])
            .arg(binary)
            .args(args);
        ServerProcess::spawn(command)
    }

    fn spawn(mut command: Command) -> ServerProcess {
        let binary = format!("{command:?}");
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the start-up line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| {
                panic!("{binary} printed {line:?}, expected `listening on http://ADDR`")
            });
        ServerProcess { child, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends `signal` (e.g. "TERM") with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
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
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
