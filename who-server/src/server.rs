use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::routes;

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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: None,
            port: 8080,
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// A bound, not yet serving, HTTP server.
pub struct Server {
    listener: TcpListener,
    http: http1::Builder,
    connections: Arc<Semaphore>,
    drain_timeout: Duration,
}

impl Server {
    /// Binds the listening socket: errors such as a port in use surface here,
    /// before anything is printed or served.
    pub fn bind(config: &Config) -> io::Result<Server> {
        let listener = TcpListener::from_std(listen(config.bind, config.port)?)?;
        let mut http = http1::Builder::new();
        // hyper's header timeout is silently off without a timer.
        http.timer(TokioTimer::new())
            .header_read_timeout(config.header_timeout)
            // The smallest buffer hyper allows: bounds what one client can make us hold.
            .max_buf_size(8192)
            .max_headers(64);
        Ok(Server {
            listener,
            http,
            connections: Arc::new(Semaphore::new(config.max_connections.max(1))),
            drain_timeout: config.drain_timeout,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets the
    /// requests in flight finish, for at most the drain timeout.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let graceful = GracefulShutdown::new();
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
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors, or a connection reset before we
                        // took it: pause instead of spinning, and go on serving.
                        eprintln!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let service = service_fn(move |req| routes::handle(req, remote));
            let connection =
                graceful.watch(self.http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    if !is_client_gone(&e) {
                        eprintln!("connection from {remote}: {e}");
                    }
                }
                drop(permit);
            });
        }
        // Closing the listener makes new connections fail at once.
        drop(self.listener);
        if tokio::time::timeout(self.drain_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            eprintln!(
                "drain timeout of {:?} reached, closing remaining connections",
                self.drain_timeout
            );
        }
    }
}

/// Clients hanging up mid-request are routine, not worth a log line.
fn is_client_gone(e: &hyper::Error) -> bool {
    e.is_incomplete_message() || e.is_canceled()
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
