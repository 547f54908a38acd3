//! who-server as a child process (testkit's `ServerProcess`, killed on
//! drop so that a failing test leaves nothing running), and raw exchanges.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::Duration;
pub use testkit::ServerProcess;

pub const BIN: &str = env!("CARGO_BIN_EXE_who-server");

/// who-server as a process: `--bind 127.0.0.1 --port 0 ARGS`, stderr piped
/// (read it after the exit with [`ServerProcess::stderr`]).
pub fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start_with(Command::new(BIN), args, Stdio::piped())
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
