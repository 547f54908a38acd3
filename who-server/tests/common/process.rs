//! who-server as a child process whose stderr the test chooses, killed on
//! drop so that a failing test leaves nothing running.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_who-server");

pub struct Who {
    pub child: Child,
    /// The rest of stdout after the `listening on` line (the access log).
    pub stdout: BufReader<ChildStdout>,
    pub addr: SocketAddr,
    pub command: String,
}

impl Who {
    /// `who-server --bind 127.0.0.1 --port 0 ARGS` with stderr piped.
    pub fn start(args: &[&str]) -> Who {
        Who::start_with(Command::new(BIN), args, Stdio::piped())
    }

    /// `command --bind 127.0.0.1 --port 0 ARGS`, with `stderr`; waits for
    /// the `listening on` line.
    pub fn start_with(mut command: Command, args: &[&str], stderr: impl Into<Stdio>) -> Who {
        command
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(stderr);
        let shown = format!("{command:?}");
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let _ = stdout.read_line(&mut line);
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|addr| addr.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "command: {shown}\nstatus: {}\nstdout: {line}\nstderr: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        };
        Who {
            child,
            stdout,
            addr,
            command: shown,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.pid() as i32, signal) }, 0);
    }

    /// Waits up to `limit` for the exit; panics, saying how long, if none.
    pub fn exit_within(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                return (status, start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("{} still running {limit:?} after the signal", self.command);
    }

    /// All of stderr, once the process has exited (piped stderr only).
    pub fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    }

    /// SIGTERM, exit 0 within 5 s, and the lines written to stderr.
    pub fn stop(&mut self) -> String {
        self.signal(libc::SIGTERM);
        let (status, _) = self.exit_within(Duration::from_secs(5));
        let stderr = self.stderr();
        assert_eq!(
            status.code(),
            Some(0),
            "{}: {status}\nstderr:\n{stderr}",
            self.command
        );
        stderr
    }
}

impl Drop for Who {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request on a new connection; the whole answer, or what came before
/// the server closed or 5 s passed.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    exchange_on(TcpStream::connect(addr).expect("connect"), request)
}

/// One request on `stream`; the whole answer, or what came before the
/// server closed or 5 s passed.
pub fn exchange_on(mut stream: TcpStream, request: &[u8]) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

pub const MALFORMED: &[u8] = b"GET /who HTTP/1.2\r\nHost: x\r\n\r\n";
pub const GET_WHO: &[u8] = b"GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// A pipe whose buffer is already full: whoever writes to the write end
/// blocks until the read end is read.
pub fn full_pipe() -> (OwnedFd, OwnedFd) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe(2) and fcntl(2) on the descriptors it just made.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        let (read, write) = (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]));
        let flags = libc::fcntl(fds[1], libc::F_GETFL);
        libc::fcntl(fds[1], libc::F_SETFL, flags | libc::O_NONBLOCK);
        let mut file = std::fs::File::from(write.try_clone().unwrap());
        let filler = [b'.'; 4096];
        while file.write(&filler).is_ok() {}
        drop(file);
        // Blocking again: the flag belongs to the pipe, which the child shares.
        libc::fcntl(fds[1], libc::F_SETFL, flags);
        (read, write)
    }
}

/// CPU time (utime + stime, in clock ticks) of each thread of `pid`, by name.
pub fn thread_cpu(pid: u32) -> Vec<(String, u64)> {
    let mut threads = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // The name is in parentheses and may hold spaces; fields follow it.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        threads.push((stat[open + 1..close].to_owned(), ticks));
    }
    threads.sort();
    threads
}
