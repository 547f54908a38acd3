//! A connection that remembers whether it is between requests, so that the
//! header timeout closing an idle keep-alive connection (routine) is told
//! apart from a client that stalled mid-head (worth counting).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

// The state starts at 0: nothing came in yet, and a client that says
// nothing is cut off, not idle.
/// Bytes came in since the last answer went out.
const MID_REQUEST: u8 = 1;
/// An answer went out and nothing came in since.
const IDLE: u8 = 2;

#[derive(Clone, Default)]
pub struct State(Arc<AtomicU8>);

impl State {
    /// True once an answer went out and no byte of another request came in.
    /// hyper may have read a pipelined request's first bytes together with
    /// the previous one; a client stalling there is taken for idle.
    pub fn is_idle(&self) -> bool {
        self.0.load(Relaxed) == IDLE
    }
}

pub struct Watched<T> {
    inner: T,
    state: State,
}

impl<T> Watched<T> {
    pub fn new(inner: T) -> (Watched<T>, State) {
        let state = State::default();
        let watched = Watched {
            inner,
            state: state.clone(),
        };
        (watched, state)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.state.0.store(MID_REQUEST, Relaxed);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T> Watched<T> {
    fn wrote(&self, polled: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = polled {
            if *n > 0 {
                self.state.0.store(IDLE, Relaxed);
            }
        }
    }
}
