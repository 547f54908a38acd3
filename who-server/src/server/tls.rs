//! HTTPS, mutual TLS and HTTP/2 (issue 22), built only with the `tls`
//! feature. A child of `server` so that it can use the connection plumbing
//! (the cap's slot, the worker's count, the drain) without widening it;
//! server.rs calls [`serve`] for every accepted connection.
//!
//! With `--cert` and `--key` every connection is TLS, and ALPN picks
//! HTTP/2 (`h2`) or HTTP/1.1; without them a connection that opens with
//! HTTP/2's preface is served as h2c (prior knowledge), any other as
//! HTTP/1 by the same code as the default build.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hyper::header::{HeaderValue, X_CONTENT_TYPE_OPTIONS};
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit};
use tokio::time::Instant;
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{
    self, DigitallySignedStruct, DistinguishedName, ProtocolVersion, RootCertStore, ServerConfig,
    SignatureScheme,
};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;

use super::{count_error, Held, Shared, Slot, IDLE_GRACE};
use crate::drain::Drain;
use crate::log::{Counters, Kind};
use crate::peer::{self, Peer};
use crate::routes::Body;

/// The PEM files of `--cert`, `--key` and `--cacert`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Client certificates must be signed by one of these (mutual TLS).
    pub cacert: Option<PathBuf>,
}

/// The TLS settings in force, replaced whole on SIGHUP: a handshake takes
/// the settings of the moment and keeps them, so a reload drops nothing.
pub(crate) struct Tls {
    files: TlsFiles,
    config: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    /// Reads the files; the error is one line that names the file at fault.
    pub(crate) fn load(files: &TlsFiles) -> io::Result<Tls> {
        let config = server_config(files).map_err(io::Error::other)?;
        Ok(Tls {
            files: files.clone(),
            config: RwLock::new(Arc::new(config)),
        })
    }

    fn acceptor(&self) -> TlsAcceptor {
        let config = self.config.read().unwrap_or_else(|e| e.into_inner());
        TlsAcceptor::from(config.clone())
    }

    /// Reads the files again; on any error the settings stay as they were.
    fn reload(&self) -> Result<(), String> {
        let config = server_config(&self.files)?;
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }

    /// From now on SIGHUP reloads the files, saying so in one line.
    pub(crate) fn reload_on_sighup(
        self: &Arc<Self>,
        runtime: &Runtime,
        counters: &Arc<Counters>,
    ) -> io::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let _entered = runtime.enter();
        let mut hangup = signal(SignalKind::hangup())?;
        let (tls, counters) = (self.clone(), counters.clone());
        runtime.spawn(async move {
            while hangup.recv().await.is_some() {
                counters.say(match tls.reload() {
                    Ok(()) => "SIGHUP: certificate and key reloaded".to_owned(),
                    Err(e) => format!("SIGHUP: {e}; still serving the previous certificate"),
                });
            }
        });
        Ok(())
    }
}

/// What every worker shares for TLS and HTTP/2.
pub(crate) struct Secure {
    tls: Option<Arc<Tls>>,
    h2: http2::Builder<TokioExecutor>,
}

impl Secure {
    pub(crate) fn new(tls: Option<Arc<Tls>>, header_timeout: Duration) -> Secure {
        let mut h2 = http2::Builder::new(TokioExecutor::new());
        h2.timer(TokioTimer::new())
            // Streams one connection may have open at once: Go's default
            // is 250, nginx's 128; each holds a task and buffers.
            .max_concurrent_streams(100)
            // HTTP/1 allows a head of 8 KiB (hyper's buffer) and 64 fields;
            // HTTP/2 counts 32 bytes more per field: 8 KiB + 64 × 32. Past
            // it h2 refuses the stream, and a CONTINUATION flood is cut.
            .max_header_list_size(8192 + 64 * 32)
            // What a client may send before we read: 64 KiB per stream
            // (the most the text page reads of a body) and 256 KiB per
            // connection, whatever its number of streams.
            .initial_stream_window_size(64 * 1024)
            .initial_connection_window_size(256 * 1024)
            // What we queue per stream for a client that does not read.
            .max_send_buf_size(64 * 1024)
            // Rapid reset (CVE-2023-44487): streams the client opens and
            // cancels before they are served; past 20 (h2's default, said
            // here so it cannot drift) the connection gets GOAWAY.
            .max_pending_accept_reset_streams(20)
            // Streams we reset because the client broke the rules: past
            // this many on one connection it gets GOAWAY (the 2023 fix's
            // companion; hyper's default is 1024).
            .max_local_error_reset_streams(64)
            // A client that stops reading (or vanished) stops answering
            // pings too: it is closed a header timeout after a ping.
            .keep_alive_interval(header_timeout)
            .keep_alive_timeout(header_timeout);
        Secure { tls, h2 }
    }
}

/// The whole settings from the files, with the errors worded for a person.
fn server_config(files: &TlsFiles) -> Result<ServerConfig, String> {
    let provider = Arc::new(crypto::ring::default_provider());
    let certs = certificates(&files.cert, "--cert")?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("--key {}: {}", files.key.display(), pem_error(e)))?;
    let verifier: Arc<dyn ClientCertVerifier> = match &files.cacert {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(path, "--cacert")? {
                roots
                    .add(cert)
                    .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
            }
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("--cacert {}: {e}", path.display()))?
        }
        None => Arc::new(ShowOnly(provider.clone())),
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        // TLS 1.2 and 1.3 only, with rustls' own suites: all forward-secret AEAD.
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| {
            let why = match e {
                rustls::Error::InconsistentKeys(_) => "the key is not the certificate's".to_owned(),
                e => e.to_string(),
            };
            format!(
                "--cert {} and --key {}: {why}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    // The server's order of suites, not the client's (rustls lists the
    // strongest first): testssl.sh counts a client-chosen order a finding.
    config.ignore_client_order = true;
    // HTTP/2 first, as Go's server offers it.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Every certificate of a PEM file; none is an error.
fn certificates(path: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = |e| format!("{flag} {}: {}", path.display(), pem_error(e));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(shown)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(shown)?;
    if certs.is_empty() {
        return Err(format!("{flag} {}: no certificate in it", path.display()));
    }
    Ok(certs)
}

/// pki-types' PEM errors, the missing section reworded.
fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::NoItemsFound => "no PEM section of that kind in it".to_owned(),
        Error::Io(e) => e.to_string(),
        e => format!("not PEM: {e:?}"),
    }
}

/// Without `--cacert`, as traefik/whoami does (Go's `RequestClientCert`):
/// a client certificate is asked for, never required, and not checked
/// against anything, so any is shown. The client still proves it holds the
/// certificate's key (the handshake signature is verified).
#[derive(Debug)]
struct ShowOnly(Arc<CryptoProvider>);

impl ClientCertVerifier for ShowOnly {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A connection's stream: plain, or TLS over it (tokio-util's `Either`
/// passes reads, writes, flushes and shutdowns to the one it holds).
type Io = Either<TcpStream, Box<TlsStream<TcpStream>>>;

/// HTTP/2's connection preface, which an h2c client with prior knowledge
/// sends first; no HTTP/1 request line begins with it.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves `stream` on a task of its own: the TLS handshake (or the look
/// for h2c's preface) within the header timeout, holding `permit`, the
/// connection's slot under the cap, all along; then HTTP/1 or HTTP/2. Over
/// HTTP/1 the first request head is due one header timeout after the
/// accept, handshake included, as it is without TLS.
pub(super) fn serve(
    shared: &Arc<Shared>,
    graceful: &Drain,
    stream: TcpStream,
    remote: SocketAddr,
    permit: OwnedSemaphorePermit,
    mine: &Arc<Held>,
) {
    // Counted from the accept, as the default build counts it: a worker
    // whose connections are still in their handshake has them, and lets
    // the others accept (server.rs, `over_share`).
    let counted = Counted::new(shared, mine);
    // Subscribed now, not once the handshake is done: a drain that starts
    // during it is seen then, and waits for it (drain.rs).
    let drain = graceful.subscribe();
    let (shared, graceful, mine) = (shared.clone(), graceful.clone(), mine.clone());
    let accepted = Instant::now();
    tokio::spawn(async move {
        let started = tokio::time::timeout(shared.header_timeout, start(&shared.secure, stream));
        let (io, peer, h2) = match started.await {
            Ok(Ok(started)) => started,
            Ok(Err(e)) => return count_handshake_error(&shared.counters, &e),
            Err(_elapsed) => return shared.counters.count(Kind::HeaderTimeout),
        };
        if h2 {
            serve_h2(shared, drain, io, remote, permit, counted, peer).await;
        } else if drain.has_changed().unwrap_or(true) {
            // The drain began during the handshake. Told now, hyper would
            // close a connection that has not sent a byte yet, and lose the
            // request its client is sending; it gets the grace an idle
            // connection gets when the drain begins (server.rs), and its
            // answer says `Connection: close` (the server is draining).
            // `drain`, held until it ends, makes the drain wait for it.
            let (tell, told) = watch::channel(());
            shared.serve_http1(&graceful, io, remote, permit, &mine, peer, accepted, told);
            drop(counted);
            if tokio::time::timeout(IDLE_GRACE, tell.closed())
                .await
                .is_err()
            {
                let _ = tell.send(());
                tell.closed().await;
            }
            drop(drain);
        } else {
            // It counts the connection itself from now on.
            shared.serve_http1(&graceful, io, remote, permit, &mine, peer, accepted, drain);
            drop(counted);
        }
    });
}

/// The TLS handshake, or the look for h2c's preface: the stream, what the
/// page shows of it, and whether it speaks HTTP/2.
async fn start(secure: &Secure, stream: TcpStream) -> io::Result<(Io, Option<peer::Tls>, bool)> {
    let Some(tls) = &secure.tls else {
        let h2 = starts_with_preface(&stream).await?;
        return Ok((Either::Left(stream), None, h2));
    };
    let stream = tls.acceptor().accept(stream).await?;
    let (_, connection) = stream.get_ref();
    let h2 = connection.alpn_protocol() == Some(b"h2");
    let peer = Peer {
        version: version_name(connection.protocol_version()),
        subjects: connection
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .map(|cert| peer::subject(cert).unwrap_or_default())
            .collect(),
    };
    let peer = peer::Tls(Arc::new(peer));
    Ok((Either::Right(Box::new(stream)), Some(peer), h2))
}

/// Go's `tls.VersionName`.
fn version_name(version: Option<ProtocolVersion>) -> &'static str {
    match version {
        Some(ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "",
    }
}

/// Whether the client's first bytes are HTTP/2's preface, read without
/// taking them (`peek`), so that HTTP/1 finds its request whole. The first
/// byte that differs decides; a preface sent in parts is waited for.
async fn starts_with_preface(stream: &TcpStream) -> io::Result<bool> {
    let mut first = [0u8; PREFACE.len()];
    loop {
        let n = stream.peek(&mut first).await?;
        if n == 0 || first[..n] != PREFACE[..n] {
            return Ok(false);
        }
        if n == PREFACE.len() {
            return Ok(true);
        }
        // peek returns what is there at once: wait instead of spinning.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A client that hangs up or resets mid-handshake is routine; a refused
/// handshake (no or a wrong client certificate, no common protocol) is
/// counted with its reason, for the summary line.
fn count_handshake_error(counters: &Counters, e: &io::Error) {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {}
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => counters.count(Kind::Reset),
        _ => counters.other(e),
    }
}

/// Over TLS, every answer says `X-Content-Type-Options: nosniff`, unless
/// `--response-header` said otherwise: the text page and `/api` show what
/// the client sent, and a browser that sniffed that as HTML would run it.
/// testssl.sh counts an answer with none of the headers it looks for a
/// MEDIUM finding (README); traefik/whoami sends none. Not HSTS: it would
/// pin every port of the host name to HTTPS in a browser for its max-age,
/// plain whoamis on it included (`--response-header` adds it where wanted).
/// Plain answers stay as the default build sends them.
pub(super) async fn nosniff(
    answer: impl Future<Output = Result<Response<Body>, Infallible>>,
    secure: bool,
) -> Result<Response<Body>, Infallible> {
    let mut response = answer.await?;
    if secure {
        response
            .headers_mut()
            .entry(X_CONTENT_TYPE_OPTIONS)
            .or_insert(HeaderValue::from_static("nosniff"));
    }
    Ok(response)
}

/// Streams one HTTP/2 connection may open in all, as nginx's
/// `keepalive_requests` (1000); then it gets GOAWAY, and its client opens
/// a new connection. h2 bounds streams cancelled before they are taken (20
/// at once) and open ones (100), not a client that opens and cancels them
/// one by one, slower than that: this does (issue 22, item 5).
const MAX_STREAMS: usize = 1000;

/// Serves HTTP/2 on `io` until the client or a drain closes it.
///
/// HTTP/1's header timeout does not fit a connection with many requests at
/// once; its place is taken by an idle timeout (a connection with no
/// request in flight and none begun for a header timeout or two gets
/// GOAWAY, as does one that never sends a request) and by pings (one that
/// stops reading is closed when a ping goes unanswered).
async fn serve_h2(
    shared: Arc<Shared>,
    mut drain: watch::Receiver<()>,
    io: Io,
    remote: SocketAddr,
    permit: OwnedSemaphorePermit,
    counted: Counted,
    peer: Option<peer::Tls>,
) {
    let slot: Slot = Arc::new(permit);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let begun = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let service = {
        let (shared, slot, in_flight, begun, enough) = (
            shared.clone(),
            slot.clone(),
            in_flight.clone(),
            begun.clone(),
            enough.clone(),
        );
        service_fn(move |mut req| {
            if begun.fetch_add(1, Relaxed) + 1 == MAX_STREAMS {
                enough.notify_one();
            }
            let guard = InFlight::new(&in_flight);
            if let Some(peer) = &peer {
                req.extensions_mut().insert(peer.clone());
            }
            let answer = shared.answer(req, remote, slot.clone());
            async move {
                let answered = answer.await;
                drop(guard);
                answered
            }
        })
    };
    let connection = shared.secure.h2.serve_connection(TokioIo::new(io), service);
    let mut connection = pin!(connection);
    // Tells the connection to finish (GOAWAY, then the streams in flight)
    // when the drain starts, when it opened MAX_STREAMS, or when a whole
    // tick went by with no request in flight and none begun.
    let mut tick = tokio::time::interval(shared.header_timeout);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once.
    tick.tick().await;
    let (mut seen, mut closing) = (0, false);
    let ended = loop {
        tokio::select! {
            biased;
            ended = connection.as_mut() => break ended,
            _ = drain.changed(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = enough.notified(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = tick.tick(), if !closing => {
                let now = begun.load(Relaxed);
                if now == seen && in_flight.load(Relaxed) == 0 {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
                seen = now;
            }
        }
    };
    if let Err(e) = ended {
        count_error(&shared.counters, &e);
    }
    drop(slot);
    drop(counted);
}

/// A connection counted in the server's and its worker's connections
/// while it lives, as `Shared::serve_http1` counts its own.
struct Counted {
    shared: Arc<Shared>,
    mine: Arc<Held>,
}

impl Counted {
    fn new(shared: &Arc<Shared>, mine: &Arc<Held>) -> Counted {
        shared.held.fetch_add(1, Relaxed);
        mine.count.fetch_add(1, Relaxed);
        Counted {
            shared: shared.clone(),
            mine: mine.clone(),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.shared.held.fetch_sub(1, Relaxed);
        if self.mine.count.fetch_sub(1, Relaxed) == 1 {
            self.mine.none.notify_waiters();
        }
    }
}

/// One request being answered, counted while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Relaxed);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}
