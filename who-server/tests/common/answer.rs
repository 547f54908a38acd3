//! Reading one HTTP/1.1 answer off a keep-alive connection, within a time.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One answer: its head (lower-case header names, as hyper writes them) and body.
pub struct Answer {
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn status(&self) -> &str {
        self.head.get(9..12).unwrap_or("")
    }

    /// The answer says `Connection: close`: the server closes after it.
    pub fn closes(&self) -> bool {
        self.head
            .lines()
            .any(|l| l.eq_ignore_ascii_case("connection: close"))
    }
}

/// Reads the whole answer (head and `content-length` bytes) within `limit`;
/// `None` if it did not come whole by then, or the connection closed first.
pub fn answer_within(stream: &mut TcpStream, limit: Duration) -> Option<Answer> {
    let end = Instant::now() + limit;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return None,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
        if let Some(end_of_head) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end_of_head]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|n| n.parse().ok())
                .expect("a content-length");
            if answer.len() >= end_of_head + 4 + length {
                let body = answer[end_of_head + 4..end_of_head + 4 + length].to_vec();
                return Some(Answer { head, body });
            }
        }
    }
}
