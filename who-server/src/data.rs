//! `/data`'s answer: whoami's printable pattern, streamed.
//!
//! Byte `i` of an answer of `n` bytes is `|` when `i` is 0 or `n - 1`, and
//! otherwise `-ABCDEFGHIJKLMNOPQRSTUVWXYZ`'s byte `i % 27`, as whoami's
//! `contentReader` writes it. Every chunk is a slice of one shared block
//! built at first use, so a 1 GiB answer holds 64 KiB, and a chunk costs
//! no copy and no allocation.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};

const CHARSET: &[u8; 27] = b"-ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// The bytes handed to hyper at a time.
pub const CHUNK: usize = 64 * 1024;

/// The pattern from offset 0, long enough that a chunk may start at any
/// offset modulo 27.
fn block() -> &'static Bytes {
    static BLOCK: OnceLock<Bytes> = OnceLock::new();
    BLOCK.get_or_init(|| {
        (0..CHUNK + CHARSET.len())
            .map(|i| CHARSET[i % CHARSET.len()])
            .collect::<Vec<u8>>()
            .into()
    })
}

/// `size` bytes of the pattern, produced as hyper asks for them.
pub struct Pattern {
    sent: u64,
    size: u64,
}

impl Pattern {
    pub fn new(size: u64) -> Pattern {
        Pattern { sent: 0, size }
    }

    fn next_chunk(&mut self) -> Option<Bytes> {
        let (sent, size) = (self.sent, self.size);
        if sent >= size {
            return None;
        }
        let chunk = if sent == 0 || sent == size - 1 {
            Bytes::from_static(b"|")
        } else {
            // The middle: up to the last byte, which is a `|` of its own.
            let len = (size - 1 - sent).min(CHUNK as u64) as usize;
            let start = (sent % CHARSET.len() as u64) as usize;
            block().slice(start..start + len)
        };
        self.sent += chunk.len() as u64;
        Some(chunk)
    }
}

impl Body for Pattern {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().next_chunk().map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent >= self.size
    }

    /// Exact, so that hyper sends `Content-Length` rather than chunks.
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.size - self.sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(size: u64) -> Vec<u8> {
        let mut pattern = Pattern::new(size);
        let mut bytes = Vec::new();
        while let Some(chunk) = pattern.next_chunk() {
            assert!(chunk.len() <= CHUNK);
            bytes.extend_from_slice(&chunk);
        }
        assert!(pattern.is_end_stream());
        assert_eq!(pattern.size_hint().exact(), Some(0));
        bytes
    }

    /// whoami's contentReader, byte by byte.
    fn expected(size: u64) -> Vec<u8> {
        (0..size)
            .map(|i| {
                if i == 0 || i == size - 1 {
                    b'|'
                } else {
                    CHARSET[(i % 27) as usize]
                }
            })
            .collect()
    }

    #[test]
    fn small_answers_are_whoamis_pattern() {
        assert_eq!(all(0), b"");
        assert_eq!(all(1), b"|");
        assert_eq!(all(2), b"||");
        assert_eq!(all(3), b"|A|");
        assert_eq!(all(30), b"|ABCDEFGHIJKLMNOPQRSTUVWXYZ-A|");
    }

    #[test]
    fn answers_over_many_chunks_are_the_pattern_throughout() {
        for size in [
            CHUNK as u64,
            CHUNK as u64 + 1,
            CHUNK as u64 + 2,
            3 * CHUNK as u64 + 12345,
        ] {
            assert_eq!(all(size), expected(size), "size {size}");
        }
    }

    #[test]
    fn every_answer_shares_one_block_of_64_kib_and_one_period() {
        assert_eq!(block().len(), CHUNK + 27);
        assert!(std::ptr::eq(block(), block()));
    }

    #[test]
    fn the_middle_goes_out_64_kib_at_a_time() {
        let mut pattern = Pattern::new(3 << 20);
        let lengths: Vec<usize> = (0..4)
            .map(|_| pattern.next_chunk().unwrap().len())
            .collect();
        assert_eq!(lengths, [1, 65536, 65536, 65536]);
    }

    #[test]
    fn hyper_gets_the_pattern_as_data_frames() {
        use http_body_util::BodyExt;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let body = runtime.block_on(Pattern::new(30).collect()).unwrap();
        assert_eq!(&body.to_bytes()[..], b"|ABCDEFGHIJKLMNOPQRSTUVWXYZ-A|");
    }

    #[test]
    fn the_size_is_known_before_the_first_byte() {
        let pattern = Pattern::new(5000);
        assert_eq!(pattern.size_hint().exact(), Some(5000));
        assert!(!pattern.is_end_stream());
        assert!(Pattern::new(0).is_end_stream());
    }
}
