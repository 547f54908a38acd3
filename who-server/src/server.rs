use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::drain::Drain;
use crate::log::{Counters, Kind};
use crate::routes::{self, App, Endpoints};
use crate::watched::{State, Watched};

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
    /// What the endpoints serve and allow (routes.rs).
    pub endpoints: Endpoints,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: None,
            port: 8080,
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(5),
            endpoints: Endpoints::default(),
        }
    }
}

/// A bound, not yet serving, HTTP server: one per worker.
pub struct Server {
    listener: std::net::TcpListener,
    http: http1::Builder,
    connections: Arc<Semaphore>,
    drain_timeout: Duration,
    counters: Arc<Counters>,
    app: Arc<App>,
}

impl Server {
    /// Binds the listening socket: errors such as a port in use surface here,
    /// before anything is printed or served.
    pub fn bind(config: &Config) -> io::Result<Server> {
        let mut servers = Server::bind_workers(config, 1, Arc::default())?;
        Ok(servers.remove(0))
    }

    /// Binds one listening socket per worker, all on the same port with
    /// `SO_REUSEPORT` so that the kernel spreads new connections over them,
    /// and all under one `max_connections` cap. Errors surface here, before
    /// anything is printed or served.
    pub fn bind_workers(
        config: &Config,
        workers: usize,
        counters: Arc<Counters>,
    ) -> io::Result<Vec<Server>> {
        let mut http = http1::Builder::new();
        // hyper's header timeout is silently off without a timer.
        http.timer(TokioTimer::new())
            .header_read_timeout(config.header_timeout)
            // The smallest buffer hyper allows: bounds what one client can make us hold.
            .max_buf_size(8192)
            .max_headers(64);
        let connections = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let app = Arc::new(App::new(config.endpoints.clone())?);
        let listeners = listen_workers(config.bind, config.port, workers.max(1))?;
        Ok(listeners
            .into_iter()
            .map(|listener| Server {
                listener,
                http: http.clone(),
                connections: connections.clone(),
                drain_timeout: config.drain_timeout,
                counters: counters.clone(),
                app: app.clone(),
            })
            .collect())
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets the
    /// requests in flight finish, for at most the drain timeout. Runs on the
    /// runtime that polls it; fails only if the socket cannot join it.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let listener = TcpListener::from_std(self.listener)?;
        let graceful = Drain::new();
        let mut shutdown = pin!(shutdown);
        loop {
            // Take a connection slot before accepting, so that past the cap
            // new clients wait in the kernel's backlog instead of in our memory.
            let permit = tokio::select! {
                permit = self.connections.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_closed) => break,
                },
                () = &mut shutdown => break,
            };
            let (stream, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors, or a connection reset before we
                        // took it: pause instead of spinning, and go on serving.
                        self.counters.accept_failed(&e);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let (stream, state) = Watched::new(stream);
            let app = self.app.clone();
            let service = service_fn(move |req| routes::handle(req, remote, app.clone()));
            // Upgrades for /echo's WebSocket.
            let connection = graceful.watch(
                self.http
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades(),
            );
            let counters = self.counters.clone();
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    count_error(&counters, &e, &state);
                }
                drop(permit);
            });
        }
        // Closing the listener makes new connections fail at once.
        drop(listener);
        if tokio::time::timeout(self.drain_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            self.counters.say(format!(
                "drain timeout of {:?} reached, closing remaining connections",
                self.drain_timeout
            ));
        }
        Ok(())
    }
}

/// Counts a failed connection by kind. Clients hanging up mid-request, and
/// idle keep-alive connections closed by the header timeout, are routine.
fn count_error(counters: &Counters, e: &hyper::Error, state: &State) {
    if e.is_incomplete_message() || e.is_canceled() {
        return;
    }
    let kind = if e.is_timeout() {
        if state.is_idle() {
            return;
        }
        Kind::HeaderTimeout
    } else if e.is_parse() {
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

/// One listening socket per worker on the same address. A single worker
/// gets a plain socket, as before; several share the port with
/// `SO_REUSEPORT`, after a plain bind has shown that nobody else holds it
/// (`SO_REUSEPORT` alone would let a second server of the same user join in).
fn listen_workers(
    bind: Option<IpAddr>,
    port: u16,
    workers: usize,
) -> io::Result<Vec<std::net::TcpListener>> {
    let first = listen(bind, port, false)?;
    if workers == 1 {
        return Ok(vec![first]);
    }
    let addr = first.local_addr()?;
    drop(first);
    (0..workers).map(|_| listen_on(addr, true)).collect()
}

/// Opens the listening socket. With no address: `[::]` accepting IPv4 as
/// well, falling back to `0.0.0.0` where the kernel has no IPv6.
fn listen(bind: Option<IpAddr>, port: u16, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    match bind {
        Some(ip) => listen_on(SocketAddr::new(ip, port), reuse_port),
        None => listen_on(
            SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port),
            reuse_port,
        )
        .or_else(|e| {
            if is_no_ipv6(&e) {
                listen_on(
                    SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
                    reuse_port,
                )
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

fn listen_on(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    // Restarting the server must not wait for old connections in TIME_WAIT.
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
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
    fn only_no_address_family_and_no_address_mean_no_ipv6() {
        // EAFNOSUPPORT: no IPv6 in the kernel; EADDRNOTAVAIL: none here.
        assert!(is_no_ipv6(&io::Error::from_raw_os_error(97)));
        assert!(is_no_ipv6(&io::Error::from_raw_os_error(99)));
        // EADDRINUSE, EACCES: IPv6 is there, the port is not to be had.
        assert!(!is_no_ipv6(&io::Error::from_raw_os_error(98)));
        assert!(!is_no_ipv6(&io::Error::from_raw_os_error(13)));
    }
}
