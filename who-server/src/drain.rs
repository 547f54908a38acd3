//! hyper-util's `GracefulShutdown`, for connections that can be upgraded
//! (`/echo`'s WebSocket): hyper-util watches only plain HTTP/1
//! connections. The same design: every watched connection holds a
//! receiver; `shutdown` tells them all to finish their request in flight
//! and close, then waits until the last one has.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::pin;

use hyper::body::{Body, Incoming};
use hyper::rt::{Read, Write};
use hyper::server::conn::http1::UpgradeableConnection;
use hyper::service::HttpService;
use tokio::sync::watch;

use crate::on_wake::OnWake;

// The `tls` feature hands a copy to the task that does the handshake.
#[cfg_attr(feature = "tls", derive(Clone))]
pub struct Drain {
    tx: watch::Sender<()>,
}

impl Drain {
    pub fn new() -> Drain {
        Drain {
            tx: watch::channel(()).0,
        }
    }

    /// The connection, closed gracefully once [`Drain::shutdown`] is called.
    pub fn watch<I, S, B>(
        &self,
        conn: UpgradeableConnection<I, S>,
        // With `tls`, taken at the accept ([`Drain::subscribe`]), before
        // the handshake: a drain begun during it is seen at once.
        #[cfg(feature = "tls")] mut shutdown: watch::Receiver<()>,
    ) -> impl Future<Output = hyper::Result<()>>
    where
        S: HttpService<Incoming, ResBody = B>,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        I: Read + Write + Unpin + Send + 'static,
        B: Body + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        #[cfg(not(feature = "tls"))]
        let mut shutdown = self.tx.subscribe();
        async move {
            let mut conn = pin!(conn);
            // Polled when the drain starts, not at each request (on_wake.rs).
            let changed = pin!(OnWake::new(shutdown.changed()));
            tokio::select! {
                biased;
                done = conn.as_mut() => return done,
                _ = changed => conn.as_mut().graceful_shutdown(),
            }
            conn.await
        }
    }

    /// What tells a connection to close: it changes when the drain
    /// starts, or has changed already if it started since this was taken.
    /// Taken at the accept, so that a connection still in its TLS handshake
    /// (or its look for h2c's preface) when the drain starts is told to
    /// close once it is ready, and the drain waits for it.
    #[cfg(feature = "tls")]
    pub fn subscribe(&self) -> watch::Receiver<()> {
        self.tx.subscribe()
    }

    /// Tells every watched connection to close after its request in
    /// flight, and waits until all have.
    pub async fn shutdown(self) {
        let _ = self.tx.send(());
        self.tx.closed().await;
    }
}
