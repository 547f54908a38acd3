use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use socket2::{Domain, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::defaults;
use crate::drain::Drain;
use crate::info;
use crate::log::{Counters, Kind, Writer};
use crate::routes::{self, App, Endpoints};
use crate::shutdown::{self, Stopper};
use crate::watched::{with_header_timeout, Cut, State, Watched};

// HTTPS, mutual TLS and HTTP/2: the `tls` feature, hooked in below at
// `Shared::serve` (and where settings are read), nowhere else.
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tls")]
pub use tls::TlsFiles;

/// Everything the server can be told; the binary fills it from its flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; `None` means every interface, IPv6 and IPv4.
    pub bind: Option<IpAddr>,
    /// Port to listen on; 0 picks a free one (tests use it).
    pub port: u16,
    /// A client that has not sent a whole request head by then is cut off.
    pub header_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// How long in-flight requests may run on after a shutdown signal.
    pub drain_timeout: Duration,
    /// Threads serving requests, each a current-thread runtime, all
    /// accepting from one listening socket (0 counts as 1).
    pub workers: usize,
    /// Errors caused by clients are summed up in one line per kind this often.
    pub log_interval: Duration,
    /// After the first stop request, how long `/health` answers 503 while
    /// everything else is still served, before the listener closes.
    pub shutdown_delay: Duration,
    /// What the endpoints serve and allow (routes.rs).
    pub endpoints: Endpoints,
    /// `--cert`, `--key`, `--cacert`: HTTPS instead of plain HTTP.
    #[cfg(feature = "tls")]
    pub tls: Option<TlsFiles>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: None,
            port: defaults::PORT,
            header_timeout: defaults::duration(defaults::HEADER_TIMEOUT),
            max_connections: defaults::MAX_CONNECTIONS as usize,
            drain_timeout: defaults::duration(defaults::DRAIN_TIMEOUT),
            // The binary's default is the CPUs available; one keeps tests
            // on one thread unless they ask for more.
            workers: 1,
            log_interval: defaults::duration(defaults::LOG_INTERVAL),
            shutdown_delay: defaults::duration(defaults::SHUTDOWN_DELAY),
            endpoints: Endpoints::default(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// A bound, not yet serving, HTTP server: its listening socket and one
/// runtime per worker. The binary and the tests both run it by [`Server::serve`].
pub struct Server {
    listener: std::net::TcpListener,
    config: Config,
    /// The first runs on the thread that calls `serve`, the others on threads of their own.
    runtimes: Vec<Runtime>,
    counters: Arc<Counters>,
    stopper: Stopper,
    app: Arc<App>,
    #[cfg(feature = "tls")]
    tls: Option<Arc<tls::Tls>>,
}

impl Server {
    /// Starts the runtimes and binds the listening socket: everything that
    /// can fail at start (a port in use, an address that is not here) fails
    /// here, before anything is printed or served. Errors say what failed.
    pub fn bind(config: &Config) -> io::Result<Server> {
        let runtimes = (0..config.workers.max(1))
            .map(|_| runtime())
            .collect::<io::Result<Vec<_>>>()
            .map_err(|e| context("cannot start the async runtime", e))?;
        let listener = listen(config.bind, config.port)
            .map_err(|e| context(&format!("cannot listen on {}", shown_address(config)), e))?;
        let app = App::new(config.endpoints.clone())
            .map_err(|e| context("cannot start the access log", e))?;
        #[cfg(feature = "tls")]
        let tls = match &config.tls {
            Some(files) => Some(Arc::new(tls::Tls::load(files)?)),
            None => None,
        };
        Ok(Server {
            listener,
            config: config.clone(),
            runtimes,
            counters: Arc::default(),
            stopper: Stopper::new(),
            app: Arc::new(app),
            #[cfg(feature = "tls")]
            tls,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// What stops the server once it serves, as SIGTERM does.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// From now on SIGTERM and SIGINT stop the server.
    pub fn stop_on_signals(&self) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            // And SIGHUP reads the certificate and key again.
            tls.reload_on_sighup(&self.runtimes[0], &self.counters)
                .map_err(|e| context("cannot install signal handlers", e))?;
        }
        self.stopper
            .on_signals(&self.runtimes[0])
            .map_err(|e| context("cannot install signal handlers", e))
    }

    /// Whether connections are TLS (`--cert` and `--key` given).
    #[cfg(feature = "tls")]
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Starts the log thread and the workers, calls `ready` once they all
    /// run, and serves until stopped; then closes the listener and lets the
    /// requests in flight finish, for at most the drain timeout.
    pub fn serve(self, ready: impl FnOnce(SocketAddr)) -> io::Result<()> {
        let Server {
            listener,
            config,
            mut runtimes,
            counters,
            stopper,
            app,
            #[cfg(feature = "tls")]
            tls,
        } = self;
        let addr = listener
            .local_addr()
            .map_err(|e| context("cannot read the listening address", e))?;
        let log = Writer::start(counters.clone(), config.log_interval)
            .map_err(|e| context("cannot start the log thread", e))?;
        let shared = Arc::new(Shared::new(
            &config,
            counters,
            app,
            #[cfg(feature = "tls")]
            tls::Secure::new(tls, config.header_timeout),
        ));
        // The stop request reaches the first runtime; this passes it on to all.
        let (close, closing) = watch::channel(false);
        let first = runtimes.remove(0);
        let mut threads = Vec::new();
        let mut result = Ok(());
        for (i, runtime) in runtimes.into_iter().enumerate() {
            let (shared, closing) = (shared.clone(), closing.clone());
            let spawned = listener.try_clone().and_then(|listener| {
                thread::Builder::new()
                    .name(format!("worker-{}", i + 1))
                    .spawn(move || runtime.block_on(work(listener, shared, closing)))
            });
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    result = Err(context("cannot start a worker thread", e));
                    break;
                }
            }
        }
        if result.is_ok() {
            // Said once every worker runs, so that whoever reads it finds them all.
            ready(addr);
            result = first.block_on(async {
                let (_, served) = tokio::join!(
                    shutdown::coordinate(
                        stopper,
                        config.shutdown_delay,
                        &shared.draining,
                        close,
                        &shared.counters
                    ),
                    work(listener, shared.clone(), closing)
                );
                served
            });
        } else {
            // The workers already started drain (nothing) and end.
            let _ = close.send(true);
        }
        for thread in threads {
            // A worker cannot panic (panic = "abort" in release), so join only waits.
            result = result.and(thread.join().unwrap_or(Ok(())));
        }
        log.finish(LOG_GRACE);
        result
    }
}

/// How long the exit waits for the last log lines when stderr is blocked.
const LOG_GRACE: Duration = Duration::from_millis(200);

/// One current-thread runtime per worker: measured against tokio's
/// multi-threaded runtime on the static musl build (README, "Build
/// choices, measured").
fn runtime() -> io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// What every worker shares.
struct Shared {
    http: http1::Builder,
    /// One slot per connection served, over all workers.
    connections: Arc<Semaphore>,
    /// Connections served, over all workers.
    held: AtomicUsize,
    /// Set at the first stop request: `/health` answers 503 and every
    /// answer says `Connection: close`.
    draining: AtomicBool,
    workers: usize,
    header_timeout: Duration,
    drain_timeout: Duration,
    counters: Arc<Counters>,
    /// What the endpoints serve and allow, and their shared state.
    app: Arc<App>,
    #[cfg(feature = "tls")]
    secure: tls::Secure,
}

impl Shared {
    fn new(
        config: &Config,
        counters: Arc<Counters>,
        app: Arc<App>,
        #[cfg(feature = "tls")] secure: tls::Secure,
    ) -> Shared {
        let mut http = http1::Builder::new();
        // No timer, so no header timeout of hyper's (it would box a timer
        // per request): `with_header_timeout` keeps one per connection.
        // The smallest buffer hyper allows: bounds what one client can make us hold.
        http.max_buf_size(8192)
            // A defence, and free: up to hyper's 100 the parse stays on the
            // stack (a SmallVec), whatever its docs say of the heap; measured
            // the same instructions per request as the default.
            .max_headers(64)
            // Without it hyper reads once more after each request head to
            // see whether the client hung up mid-request: a read that finds
            // nothing (a system call), and, since the request in flight
            // still points into the read buffer, a new 8 KiB buffer on every
            // request (README, "Build choices, measured"). The answers are
            // immediate, so a client that hangs up is found on the write.
            .half_close(true)
            // Answers are a few hundred bytes: copied behind the head and
            // sent with one write, they cost fewer instructions than hyper's
            // queue of buffers for writev (README, "Build choices, measured").
            .writev(false);
        Shared {
            http,
            connections: Arc::new(Semaphore::new(config.max_connections.max(1))),
            held: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            workers: config.workers.max(1),
            header_timeout: config.header_timeout,
            drain_timeout: config.drain_timeout,
            counters,
            app,
            #[cfg(feature = "tls")]
            secure,
        }
    }

    /// Serves `stream` on a task of its own, holding `permit` (its slot),
    /// counted in `mine` (the worker's connections, dropped when it ends)
    /// and in `held`.
    fn serve(
        self: &Arc<Self>,
        graceful: &Drain,
        stream: TcpStream,
        remote: SocketAddr,
        permit: OwnedSemaphorePermit,
        mine: &Arc<Held>,
    ) {
        #[cfg(feature = "tls")]
        tls::serve(self, graceful, stream, remote, permit, mine);
        #[cfg(not(feature = "tls"))]
        self.serve_http1(graceful, stream, remote, permit, mine);
    }

    /// The answer of `routes`, over HTTP/1 or (tls feature) HTTP/2. The
    /// draining flag is read per request: once draining, `/health`
    /// answers 503 and every answer says `Connection: close` (routes.rs).
    fn answer(
        &self,
        req: Request<Incoming>,
        remote: SocketAddr,
        slot: Slot,
    ) -> impl Future<Output = Result<Response<routes::Body>, Infallible>> {
        let draining = self.draining.load(Relaxed);
        #[cfg(feature = "tls")]
        let secure = req.extensions().get::<crate::peer::Tls>().is_some();
        let answer = routes::handle(req, remote, self.app.clone(), slot, draining);
        #[cfg(feature = "tls")]
        let answer = tls::nosniff(answer, secure);
        answer
    }

    /// Serves HTTP/1 on `stream` (with `tls`: over TLS, `peer` what the
    /// requests show of it, its first head due a header timeout after
    /// `accepted`, and `drain` its subscription to the drain, taken then).
    // With the tls feature's two: a struct of theirs would be one more type
    // on the default build's path.
    #[cfg_attr(feature = "tls", allow(clippy::too_many_arguments))]
    fn serve_http1<S>(
        self: &Arc<Self>,
        graceful: &Drain,
        stream: S,
        remote: SocketAddr,
        permit: OwnedSemaphorePermit,
        mine: &Arc<Held>,
        #[cfg(feature = "tls")] peer: Option<crate::peer::Tls>,
        #[cfg(feature = "tls")] accepted: tokio::time::Instant,
        #[cfg(feature = "tls")] drain: watch::Receiver<()>,
    ) where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        #[cfg(not(feature = "tls"))]
        let (stream, state) = Watched::new(stream);
        // The handshake took its share of the header timeout already.
        #[cfg(feature = "tls")]
        let (stream, state) = Watched::accepted_at(stream, accepted);
        let (shared, answering) = (self.clone(), state.clone());
        let slot: Slot = Arc::new(permit);
        let held_by_requests = slot.clone();
        #[allow(unused_mut)]
        let service = service_fn(move |mut req: Request<Incoming>| {
            answering.head_read();
            #[cfg(feature = "tls")]
            if let Some(peer) = &peer {
                req.extensions_mut().insert(peer.clone());
            }
            shared.answer(req, remote, held_by_requests.clone())
        });
        // Upgrades for /echo's WebSocket.
        let connection = graceful.watch(
            self.http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades(),
            #[cfg(feature = "tls")]
            drain,
        );
        let (shared, mine) = (self.clone(), mine.clone());
        shared.held.fetch_add(1, Relaxed);
        mine.count.fetch_add(1, Relaxed);
        tokio::spawn(async move {
            match with_header_timeout(connection, &state, shared.header_timeout).await {
                Ok(()) => {}
                Err(Cut::Error(e)) => count_error(&shared.counters, &e),
                Err(Cut::HeaderTimeout) => count_header_timeout(&shared.counters, &state),
            }
            shared.held.fetch_sub(1, Relaxed);
            drop(slot);
            if mine.count.fetch_sub(1, Relaxed) == 1 {
                mine.none.notify_waiters();
            }
        });
    }
}

/// The connections of one worker.
#[derive(Default)]
struct Held {
    count: AtomicUsize,
    /// Woken when the count falls to 0.
    none: Notify,
}

/// A connection's place under the cap, shared by its requests' handlers
/// (an upgraded connection keeps it: routes.rs, echo.rs).
pub(crate) type Slot = Arc<OwnedSemaphorePermit>;

/// How long an idle keep-alive connection is given, once the drain starts,
/// for a request that may be on its way (issue 24: measured in the README).
const IDLE_GRACE: Duration = Duration::from_millis(500);

/// How long a worker serving more than its share waits before it accepts.
const DEFER: Duration = Duration::from_millis(1);

/// One worker: accepts from the shared listening socket whenever a slot of
/// the cap is free, until told to close; then drains its connections.
///
/// All workers accept from one socket (each through its own copy of the
/// descriptor, in its own epoll), so whichever worker holds a free slot
/// takes the next connection; with a socket per worker (`SO_REUSEPORT`)
/// the kernel picks the socket by a hash of the client's address, and a
/// worker holding the last free slot left clients queued on another
/// worker's socket waiting (issue 20).
async fn work(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    closing: watch::Receiver<bool>,
) -> io::Result<()> {
    // Beside the worker's loop, in its task on this worker's thread, whose
    // cached hostname and addresses it forgets once a second; polled when
    // the loop wakes (an accept), not per request. Not a task of its own:
    // a spawned future's code cost who:rust's budget a page (4 096 bytes).
    tokio::select! {
        biased;
        served = accept_then_drain(listener, shared, closing) => served,
        never = info::keep_fresh() => match never {},
    }
}

/// [`work`]'s loop: accepts, then drains, as `work` says.
async fn accept_then_drain(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut closing: watch::Receiver<bool>,
) -> io::Result<()> {
    let listener = TcpListener::from_std(listener).map_err(|e| context("cannot serve", e))?;
    let graceful = Drain::new();
    let mine = Arc::new(Held::default());
    {
        let mut closed = pin!(closing.wait_for(|close| *close));
        loop {
            // Take a connection slot before accepting, so that past the cap
            // new clients wait in the kernel's backlog instead of in our memory.
            let permit = tokio::select! {
                permit = shared.connections.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_closed) => break,
                },
                _ = &mut closed => break,
            };
            // With one socket, whichever worker wakes first could take a
            // whole burst of new connections (all of a load test's, say)
            // while the others sleep. A worker that serves more than its
            // share lets the others take the next connection first; if
            // none does, it takes it DEFER later.
            let (held, workers) = (shared.held.load(Relaxed), shared.workers);
            if over_share(mine.count.load(Relaxed), held, workers) {
                tokio::select! {
                    () = tokio::time::sleep(DEFER) => {}
                    _ = &mut closed => break,
                }
            }
            let (stream, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors, or a connection reset before we
                        // took it: pause instead of spinning, and go on serving.
                        shared.counters.accept_failed(&e);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = &mut closed => break,
            };
            shared.serve(&graceful, stream, remote, permit, &mine);
        }
    }
    // Connections the kernel completed but nobody accepted yet would be
    // reset, requests and all, when the socket closes: from now on it
    // completes no new one (refuse.rs), and those queued or mid-handshake
    // are accepted while slots are free, until the last connection ends or
    // the grace is over. (Not on Linux, or refused: the queue as it is.)
    let _ = crate::refuse::new_connections(&listener);
    // A connection busy now answers with `Connection: close` and ends. One
    // idle now may have a request on its way: for IDLE_GRACE it is served
    // too (with `Connection: close`); then hyper's graceful shutdown closes
    // those still idle, and the drain timeout the rest.
    let grace = IDLE_GRACE.min(shared.drain_timeout);
    let all_gone = async {
        loop {
            // Created before the count is read, so that no wake-up is missed.
            let none = mine.none.notified();
            accept_queued(&listener, &shared, &graceful, &mine);
            if mine.count.load(Relaxed) == 0 {
                break;
            }
            tokio::select! {
                () = none => {}
                // A handshake that ended since.
                Some((stream, remote, permit)) = accept_one(&listener, &shared) => {
                    shared.serve(&graceful, stream, remote, permit, &mine);
                }
            }
        }
    };
    let _ = tokio::time::timeout(grace, all_gone).await;
    accept_queued(&listener, &shared, &graceful, &mine);
    // Closing our copy of the listener; the socket closes with the last
    // worker's, and new connections then fail at once.
    drop(listener);
    if tokio::time::timeout(shared.drain_timeout - grace, graceful.shutdown())
        .await
        .is_err()
    {
        shared.counters.say(format!(
            "drain timeout of {:?} reached, closing remaining connections",
            shared.drain_timeout
        ));
    }
    Ok(())
}

/// Accepts every connection the kernel has queued, while slots are free.
/// It asks the kernel itself: tokio's accept would trust readiness the
/// reactor may not have seen yet.
fn accept_queued(listener: &TcpListener, shared: &Arc<Shared>, graceful: &Drain, mine: &Arc<Held>) {
    let socket = socket2::SockRef::from(listener);
    while let Ok(permit) = shared.connections.clone().try_acquire_owned() {
        let Ok((stream, remote)) = socket.accept() else {
            break;
        };
        let (stream, Some(remote)) = (std::net::TcpStream::from(stream), remote.as_socket()) else {
            continue;
        };
        if let Ok(stream) = stream
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(stream))
        {
            shared.serve(graceful, stream, remote, permit, mine);
        }
    }
}

/// The next connection, once a slot is free; `None` if accepting failed.
async fn accept_one(
    listener: &TcpListener,
    shared: &Shared,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let permit = shared.connections.clone().acquire_owned().await.ok()?;
    let (stream, remote) = listener.accept().await.ok()?;
    Some((stream, remote, permit))
}

/// A worker holding `mine` of the `held` connections of all `workers`
/// serves more than its share and one more: more than one connection above
/// the average. A lone worker never is (`mine` is `held`).
fn over_share(mine: usize, held: usize, workers: usize) -> bool {
    mine * workers > held + workers
}

/// `error` with what was being done in front of it.
fn context(doing: &str, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{doing}: {error}"))
}

fn shown_address(config: &Config) -> String {
    match config.bind {
        Some(ip) => SocketAddr::new(ip, config.port).to_string(),
        None => format!("port {}", config.port),
    }
}

/// Counts a connection cut off by the header timeout, unless it was an
/// idle keep-alive connection: closing those is routine.
fn count_header_timeout(counters: &Counters, state: &State) {
    if !state.is_idle() {
        counters.count(Kind::HeaderTimeout);
    }
}

/// Counts a failed connection by kind. Clients hanging up mid-request are
/// routine.
fn count_error(counters: &Counters, e: &hyper::Error) {
    if e.is_incomplete_message() || e.is_canceled() {
        return;
    }
    let kind = if e.is_parse() {
        Kind::BadRequest
    } else if is_reset(e) {
        Kind::Reset
    } else {
        counters.other(e);
        return;
    };
    counters.count(kind);
}

/// A connection reset or a broken pipe, as the io::Error under hyper's.
fn is_reset(e: &(dyn std::error::Error + 'static)) -> bool {
    e.source()
        .and_then(|source| source.downcast_ref::<io::Error>())
        .is_some_and(|e| {
            matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            )
        })
}

/// Opens the listening socket. With no address: `[::]` accepting IPv4 as
/// well, falling back to `0.0.0.0` where the kernel has no IPv6.
fn listen(bind: Option<IpAddr>, port: u16) -> io::Result<std::net::TcpListener> {
    match bind {
        Some(ip) => listen_on(SocketAddr::new(ip, port)),
        None => listen_on(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port)).or_else(|e| {
            if is_no_ipv6(&e) {
                listen_on(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port))
            } else {
                Err(e)
            }
        }),
    }
}

/// EAFNOSUPPORT or EADDRNOTAVAIL on `[::]`: this kernel or container has no IPv6.
fn is_no_ipv6(e: &io::Error) -> bool {
    const EAFNOSUPPORT: i32 = 97;
    const EADDRNOTAVAIL: i32 = 99;
    matches!(e.raw_os_error(), Some(EAFNOSUPPORT | EADDRNOTAVAIL))
}

fn listen_on(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    // Restarting the server must not wait for old connections in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with an io::Error under it, as hyper's are.
    #[derive(Debug)]
    struct Wrapping(Option<io::Error>);

    impl std::fmt::Display for Wrapping {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapping")
        }
    }

    impl std::error::Error for Wrapping {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.0.as_ref().map(|e| e as _)
        }
    }

    #[test]
    fn only_a_reset_or_a_broken_pipe_under_the_error_is_a_reset() {
        let under = |kind| Wrapping(Some(io::Error::from(kind)));
        assert!(is_reset(&under(io::ErrorKind::ConnectionReset)));
        assert!(is_reset(&under(io::ErrorKind::BrokenPipe)));
        assert!(!is_reset(&under(io::ErrorKind::InvalidData)));
        assert!(!is_reset(&Wrapping(None)));
    }

    #[test]
    fn a_worker_defers_only_with_more_than_one_connection_above_the_average() {
        // One worker has every connection, and its share.
        assert!(!over_share(5, 5, 1));
        assert!(!over_share(0, 0, 2));
        // 2 workers, 2 held: 1 each on average; 2 is one above, not more.
        assert!(!over_share(2, 2, 2));
        assert!(over_share(3, 3, 2));
        assert!(!over_share(3, 4, 2));
        assert!(over_share(4, 4, 2));
        // 4 workers, 4 held: 1 each; 2 is one above, 3 more.
        assert!(!over_share(2, 4, 4));
        assert!(over_share(3, 4, 4));
        assert!(over_share(9, 20, 4));
        assert!(!over_share(6, 20, 4));
    }

    #[test]
    fn only_no_address_family_and_no_address_mean_no_ipv6() {
        // EAFNOSUPPORT: no IPv6 in the kernel; EADDRNOTAVAIL: none here.
        assert!(is_no_ipv6(&io::Error::from_raw_os_error(97)));
        assert!(is_no_ipv6(&io::Error::from_raw_os_error(99)));
        // EADDRINUSE, EACCES: IPv6 is there, the port is not to be had.
        assert!(!is_no_ipv6(&io::Error::from_raw_os_error(98)));
        assert!(!is_no_ipv6(&io::Error::from_raw_os_error(13)));
    }
}
