//! A connection that remembers where it is between requests, so that the
//! header timeout closing an idle keep-alive connection (routine) is told
//! apart from a client that stalled mid-head (worth counting), and the
//! header timeout itself: one timer per connection, where hyper's own
//! (`header_read_timeout`) boxes a new timer and puts it on tokio's timer
//! wheel for every request, and no clock read per request: an answer only
//! counts itself, and the timer reads the clock when it looks (README,
//! "Build choices, measured").

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use crate::on_wake::OnWake;

// The state starts at 0: nothing came in yet, and a client that says
// nothing is cut off, not idle.
/// Bytes came in since the last answer went out.
const MID_REQUEST: u8 = 1;
/// An answer went out and nothing came in since.
const IDLE: u8 = 2;
/// A whole head was read and its request is being answered: no deadline.
const ANSWERING: u8 = 3;

/// How often per timeout the timer looks whether an answer went out: a
/// client is cut off one timeout after the last answer at the earliest and
/// a quarter of one later at the latest, and a busy connection's timer
/// fires four times per timeout, not once per request.
const LOOKS: u32 = 4;

#[derive(Clone)]
pub struct State(Arc<Inner>);

struct Inner {
    phase: AtomicU8,
    /// Answers begun, wrapping: what the timer compares between its looks.
    answers: AtomicU32,
    /// When the wait for the first head began: the accept.
    start: Instant,
}

impl State {
    // The tls feature starts every connection's wait at its accept.
    #[cfg(any(not(feature = "tls"), test))]
    fn new() -> State {
        State::since(Instant::now())
    }

    /// Waiting for the first head since `start`.
    fn since(start: Instant) -> State {
        State(Arc::new(Inner {
            phase: AtomicU8::new(0),
            answers: AtomicU32::new(0),
            start,
        }))
    }

    /// True once an answer went out and no byte of another request came in.
    /// hyper may have read a pipelined request's first bytes together with
    /// the previous one; a client stalling there is taken for idle.
    pub fn is_idle(&self) -> bool {
        self.0.phase.load(Relaxed) == IDLE
    }

    /// A whole request head was read (hyper calls the service): the header
    /// timeout stops until the answer goes out.
    pub fn head_read(&self) {
        self.0.phase.store(ANSWERING, Relaxed);
    }

    /// Whether the wait for a head may have started again since the
    /// timer's last look, when it saw `seen` answers: an answer went out
    /// since, or one is being made.
    fn moved(&self, seen: u32) -> bool {
        self.0.answers.load(Relaxed) != seen || self.0.phase.load(Relaxed) == ANSWERING
    }
}

/// Why a connection ended early.
pub enum Cut {
    /// hyper's error.
    Error(hyper::Error),
    /// No whole request head within the header timeout.
    HeaderTimeout,
}

/// Runs `connection` until it ends, or until a client took longer than
/// `timeout` to send a request head, counted from the accept or from the
/// last answer as hyper's own header timeout does, idle keep-alive time
/// included. Dropping the connection closes it.
///
/// The timer looks `LOOKS` times per timeout. The wait is taken to have
/// started at the accept, or at the first look that found an answer gone
/// out (or being made) since the one before: never before the answer, so
/// no client is cut off early, and at most one look after it, so none
/// holds its connection more than a look longer.
pub async fn with_header_timeout(
    connection: impl Future<Output = Result<(), hyper::Error>>,
    state: &State,
    timeout: Duration,
) -> Result<(), Cut> {
    let mut connection = pin!(connection);
    let step = timeout / LOOKS;
    // The first head is due a timeout after the connection's start.
    let mut waiting_since = state.0.start;
    let mut seen = state.0.answers.load(Relaxed);
    let first_look = (Instant::now() + step).min(waiting_since + timeout);
    // Polled when it fires, not at each request (on_wake.rs).
    let timer = OnWake::new(tokio::time::sleep_until(first_look));
    let mut timer = pin!(timer);
    loop {
        tokio::select! {
            // The connection first: an answer due is not cut off.
            biased;
            ended = &mut connection => return ended.map_err(Cut::Error),
            () = &mut timer => {
                let now = Instant::now();
                if state.moved(seen) {
                    seen = state.0.answers.load(Relaxed);
                    waiting_since = now;
                } else if now >= waiting_since + timeout {
                    return Err(Cut::HeaderTimeout);
                }
                timer.as_mut().future_mut().reset((now + step).min(waiting_since + timeout));
            }
        }
    }
}

pub struct Watched<T> {
    inner: T,
    state: State,
}

impl<T> Watched<T> {
    #[cfg(any(not(feature = "tls"), test))]
    pub fn new(inner: T) -> (Watched<T>, State) {
        Watched::since(inner, State::new())
    }

    /// A connection whose wait for its first head began at `accepted`,
    /// before a TLS handshake (or the look for h2c's preface) took its
    /// share: the header timeout bounds the two together.
    #[cfg(feature = "tls")]
    pub fn accepted_at(inner: T, accepted: Instant) -> (Watched<T>, State) {
        Watched::since(inner, State::since(accepted))
    }

    fn since(inner: T, state: State) -> (Watched<T>, State) {
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
            // A pipelined head read while the previous one is answered
            // leaves the phase as it is: the answer restarts the wait.
            let phase = &self.state.0.phase;
            if phase.load(Relaxed) != ANSWERING {
                phase.store(MID_REQUEST, Relaxed);
            }
        }
        polled
    }
}

// Not vectored: server.rs sets hyper's `writev(false)`, so answers go out
// through `poll_write`, and tokio's default `poll_write_vectored` calls it.
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
            // The first write of an answer starts the wait for the next
            // head: counted, for the timer's next look. Loads and stores,
            // not read-modify-writes: only the connection's own task (its
            // I/O, its service, its timer) touches the state.
            let (phase, answers) = (&self.state.0.phase, &self.state.0.answers);
            if *n > 0 && phase.load(Relaxed) != IDLE {
                phase.store(IDLE, Relaxed);
                answers.store(answers.load(Relaxed).wrapping_add(1), Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::pending;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn each_answer_is_counted_once_at_its_first_write_and_the_bytes_of_a_head_not_at_all() {
        runtime().block_on(async {
            let (server, mut client) = tokio::io::duplex(64);
            let (mut watched, state) = Watched::new(server);
            assert!(!state.is_idle(), "nothing came in yet: not idle");
            assert!(!state.moved(0));

            // A byte of a head: the wait goes on.
            client.write_all(b"G").await.unwrap();
            let mut byte = [0u8; 1];
            watched.read_exact(&mut byte).await.unwrap();
            assert!(!state.is_idle());
            assert!(!state.moved(0));

            // The head is in: no deadline while it is answered, whatever comes in.
            state.head_read();
            assert!(state.moved(0));
            client.write_all(b"G").await.unwrap();
            watched.read_exact(&mut byte).await.unwrap();
            assert!(state.moved(0), "a pipelined byte");

            // The answer goes out: idle, one answer; more of it is not another.
            watched.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
            assert!(state.is_idle());
            assert!(state.moved(0) && !state.moved(1));
            watched.write_all(b"\r\n").await.unwrap();
            assert!(!state.moved(1));

            // A byte of the next head: mid-request again, no new answer.
            client.write_all(b"G").await.unwrap();
            watched.read_exact(&mut byte).await.unwrap();
            assert!(!state.is_idle());
            assert!(!state.moved(1));
        });
    }

    #[tokio::test(start_paused = true)]
    async fn after_an_answer_the_cut_is_a_timeout_later_at_the_earliest_and_a_look_more_at_most() {
        let (server, _client) = tokio::io::duplex(64);
        let (mut watched, state) = Watched::new(server);
        let started = Instant::now();
        let answer_at = Duration::from_secs(3);
        let answer = async {
            tokio::time::sleep(answer_at).await;
            state.head_read();
            watched.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        };
        let (cut, ()) = tokio::join!(with_header_timeout(pending(), &state, TIMEOUT), answer);
        assert!(matches!(cut, Err(Cut::HeaderTimeout)));
        let waited = started.elapsed() - answer_at;
        assert!(waited >= TIMEOUT, "{waited:?}");
        assert!(waited <= TIMEOUT + TIMEOUT / LOOKS, "{waited:?}");
    }

    #[test]
    fn a_connection_waiting_for_a_head_is_cut_off_after_the_timeout_and_not_before() {
        runtime().block_on(async {
            let state = State::new();
            let timeout = Duration::from_millis(100);
            let started = Instant::now();
            let ended = with_header_timeout(pending(), &state, timeout).await;
            assert!(matches!(ended, Err(Cut::HeaderTimeout)));
            assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());
        });
    }

    #[test]
    fn a_request_being_answered_is_not_cut_off() {
        runtime().block_on(async {
            let state = State::new();
            state.head_read();
            let timeout = Duration::from_millis(50);
            let serving = with_header_timeout(pending(), &state, timeout);
            // Several timeouts pass: the timer fires, looks, and waits again.
            let outcome = tokio::time::timeout(8 * timeout, serving).await;
            assert!(outcome.is_err(), "cut off while answering");
        });
    }

    #[test]
    fn the_connection_s_own_end_is_passed_on() {
        runtime().block_on(async {
            let state = State::new();
            let ended = with_header_timeout(async { Ok(()) }, &state, TIMEOUT).await;
            assert!(ended.is_ok());
        });
    }
}
