//! The endpoints: one `match` on method and path. The seeds' contract
//! (`/` Hello World, `/who` the bare hostname, unknown paths 404) holds
//! unless `--root whoami`, where `/` and every unmatched path serve
//! traefik/whoami's text page; its other endpoints are served either way.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body as _, Bytes, Incoming};
use hyper::header::{
    HeaderName, HeaderValue, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_DISPOSITION, CONTENT_LENGTH,
    CONTENT_TYPE,
};
use hyper::{Method, Request, Response, StatusCode};

use crate::access_log::{AccessLog, Entry};
use crate::data::Pattern;
use crate::defaults;
use crate::server::Slot;
use crate::{api, echo, info, page, query};

/// The Go web demo's line (`fmt.Fprintln`, hence the newline), with Rust.
const HELLO: &str = "Hello World from Rust in minimal Docker container\n";
// The header values every answer carries, as constants: `from_static`
// checks its bytes one by one, which at run time cost ~200 instructions
// per call, twice on /who (README, "CPU per request").
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
/// whoami's `/bench` says no charset.
const PLAIN: HeaderValue = HeaderValue::from_static("text/plain");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const CLOSE: HeaderValue = HeaderValue::from_static("close");
/// A client that sends a body slower than this gets the page with what came.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What `/` and unmatched paths serve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Root {
    /// The seeds' contract: `/` says Hello World, unknown paths 404.
    #[default]
    Hello,
    /// traefik/whoami's: the text page for `/` and every unmatched path.
    Whoami,
}

/// The endpoints' settings; the binary fills them from its flags.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub root: Root,
    /// whoami's `-name`: the page's first line and `/api`'s `name`.
    pub name: Option<String>,
    /// The largest `/data` answer, in bytes.
    pub max_data: u64,
    /// The longest `?wait=`.
    pub max_wait: Duration,
    /// POST `/health` sets the status it answers; off, anyone who reaches
    /// the port could take the replica out of its load balancer.
    pub allow_health_override: bool,
    /// `?env=true` shows the environment, which may hold secrets.
    pub expose_env: bool,
    /// Added to every answer.
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    /// One line per request on stdout.
    pub access_log: bool,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            root: Root::Hello,
            name: None,
            max_data: defaults::max_data(),
            max_wait: defaults::duration(defaults::MAX_WAIT),
            allow_health_override: false,
            expose_env: false,
            response_headers: Vec::new(),
            access_log: false,
        }
    }
}

/// What every worker shares: the settings, the health status that POST
/// `/health` sets, and the access log.
pub struct App {
    endpoints: Endpoints,
    health: AtomicU16,
    log: Option<AccessLog>,
}

impl App {
    /// Starts the access log's thread if it is asked for.
    pub fn new(endpoints: Endpoints) -> io::Result<App> {
        let log = match endpoints.access_log {
            true => Some(AccessLog::start()?),
            false => None,
        };
        Ok(App {
            endpoints,
            health: AtomicU16::new(200),
            log,
        })
    }
}

/// A whole answer, or `/data`'s stream.
pub type Body = Either<Full<Bytes>, Pattern>;

/// One request in, one response out. hyper drops the body of HEAD answers
/// itself, so HEAD is served wherever GET is.
///
/// Not an `async fn`, nor is [`route`]: hyper moves this future into its
/// own on every request, byte by byte, and an `async fn`'s future holds
/// each argument twice, as the argument and as the local it moves into
/// (rust-lang/rust#62958); an `async` block that awaits a future it was
/// given holds that twice too, and a `map` around it moves each answer in
/// and out of its closure. Here the route's future is the whole answer's
/// and holds the request once; what the access log needs is boxed, so the
/// requests that are not logged carry 8 bytes for it.
///
/// `draining`: the server was asked to stop. `/health` answers 503, so
/// that load balancers take the replica out while it still serves
/// everything else, and every answer says `Connection: close`, so that a
/// keep-alive client leaves after it (hyper then closes the connection)
/// instead of sending a request a closing server may miss.
pub fn handle(
    req: Request<Incoming>,
    remote: SocketAddr,
    app: Arc<App>,
    slot: Slot,
    draining: bool,
) -> impl Future<Output = Result<Response<Body>, Infallible>> {
    let logged = app
        .log
        .as_ref()
        .map(|_| Box::new(Logged::new(&req, remote)));
    route(req, remote, app, slot, draining, logged)
}

/// What every answer gets once routed: the configured headers, the
/// drain's `Connection: close`, the access log's line.
fn finish(response: &mut Response<Body>, app: &App, draining: bool, logged: Option<Box<Logged>>) {
    add_headers(response, &app.endpoints);
    if draining {
        response.headers_mut().insert(CONNECTION, CLOSE);
    }
    if let (Some(log), Some(logged)) = (&app.log, logged) {
        logged.record(log, response);
    }
}

/// What the access log says of a request, taken before it is answered.
struct Logged {
    started: Instant,
    remote: SocketAddr,
    method: Method,
    path: String,
    forwarded_for: Option<HeaderValue>,
}

impl Logged {
    fn new(req: &Request<Incoming>, remote: SocketAddr) -> Logged {
        Logged {
            started: Instant::now(),
            remote,
            method: req.method().clone(),
            path: req.uri().path().to_owned(),
            forwarded_for: req.headers().get("x-forwarded-for").cloned(),
        }
    }

    fn record(&self, log: &AccessLog, response: &Response<Body>) {
        log.record(&Entry {
            remote: page::remote_addr(self.remote),
            forwarded_for: self.forwarded_for.as_ref().map(HeaderValue::as_bytes),
            method: self.method.as_str(),
            path: &self.path,
            status: response.status().as_u16(),
            bytes: match self.method {
                Method::HEAD => 0,
                _ => response.body().size_hint().exact().unwrap_or(0),
            },
            took: self.started.elapsed(),
        });
    }
}

/// `slot` is the connection's place under the cap, which `/echo`'s
/// WebSocket keeps once the connection is upgraded.
///
/// The handlers that read a body or render a page run boxed: this future
/// is moved into hyper's on every request, and held in place theirs made
/// it 2 320 bytes, copied byte by byte on the cheap paths too (README,
/// "CPU per request"). Those paths allocate anyway.
///
/// An `async` block rather than an `async fn`, which would hold the
/// request twice (see [`handle`]): 688 bytes against 432 when it was
/// made (the whole future is 440 today; a unit test below keeps it ≤ 512).
#[allow(clippy::manual_async_fn)]
fn route(
    mut req: Request<Incoming>,
    remote: SocketAddr,
    app: Arc<App>,
    slot: Slot,
    draining: bool,
    logged: Option<Box<Logged>>,
) -> impl Future<Output = Result<Response<Body>, Infallible>> {
    async move {
        let app = &*app;
        let whoami_root = app.endpoints.root == Root::Whoami;
        let health_override = app.endpoints.allow_health_override;
        let mut response = match (req.method(), req.uri().path()) {
            (&Method::GET | &Method::HEAD, "/bench") => bench(&mut req),
            (&Method::GET | &Method::HEAD, "/") if !whoami_root => respond_in(
                &mut req,
                StatusCode::OK,
                TEXT,
                Cache::Allowed,
                Bytes::from_static(HELLO.as_bytes()),
            ),
            // The same bytes as the Go original: the bare hostname, no newline.
            (&Method::GET | &Method::HEAD, "/who") => match wait(&req, app).await {
                Ok(()) => respond_in(
                    &mut req,
                    StatusCode::OK,
                    TEXT,
                    Cache::NoStore,
                    info::hostname(),
                ),
                Err(reason) => bad_request(reason),
            },
            // Once stopping, 503 whatever was set (see `handle`).
            (&Method::GET | &Method::HEAD, "/health") if draining => no_store(respond(
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                Bytes::from_static(b"shutting down"),
            )),
            (&Method::GET | &Method::HEAD, "/health") => match wait(&req, app).await {
                Ok(()) => health(&mut req, app),
                Err(reason) => bad_request(reason),
            },
            (&Method::POST, "/health") if health_override => Box::pin(set_health(req, app)).await,
            (&Method::GET | &Method::HEAD, "/data") => data(&req, app).await,
            (&Method::GET, "/echo") => match echo::start(&mut req, slot) {
                Ok(switching) => switching.map(|()| Either::Left(Full::default())),
                Err(reason) => bad_request(reason.to_owned()),
            },
            // whoami answers these two whatever the method: they describe it.
            (_, "/api") => Box::pin(api(req, remote, app)).await,
            (_, "/whoami") => Box::pin(whoami(req, remote, app)).await,
            (_, "/health") if health_override => not_allowed("GET, HEAD, POST"),
            (_, "/bench" | "/who" | "/health" | "/data") => not_allowed("GET, HEAD"),
            (_, "/echo") => not_allowed("GET"),
            (_, "/") if !whoami_root => not_allowed("GET, HEAD"),
            _ if whoami_root => Box::pin(whoami(req, remote, app)).await,
            _ => respond(
                StatusCode::NOT_FOUND,
                TEXT,
                Bytes::from_static(b"404 page not found\n"),
            ),
        };
        finish(&mut response, app, draining, logged);
        Ok(response)
    }
}

/// whoami's `1`, with nothing that costs: no wait, no cache header.
fn bench(req: &mut Request<Incoming>) -> Response<Body> {
    respond_in(
        req,
        StatusCode::OK,
        PLAIN,
        Cache::Allowed,
        Bytes::from_static(b"1"),
    )
}

fn health(req: &mut Request<Incoming>, app: &App) -> Response<Body> {
    let status = StatusCode::from_u16(app.health.load(Relaxed)).unwrap_or(StatusCode::OK);
    let body = match status {
        StatusCode::OK => "ok",
        _ => status.canonical_reason().unwrap_or(""),
    };
    respond_in(
        req,
        status,
        TEXT,
        Cache::NoStore,
        Bytes::from_static(body.as_bytes()),
    )
}

async fn set_health(req: Request<Incoming>, app: &App) -> Response<Body> {
    // A status code is 3 digits; more than this is not one.
    let body = read_capped(req.into_body(), 16).await;
    let text = String::from_utf8_lossy(&body);
    let text = text.trim();
    match text.parse::<u16>() {
        Ok(code @ 100..=599) => {
            app.health.store(code, Relaxed);
            no_store(respond(
                StatusCode::OK,
                TEXT,
                format!("health status set to {code}\n"),
            ))
        }
        _ => bad_request(format!(
            "the body must be a status code from 100 to 599, got {text:?}"
        )),
    }
}

async fn data(req: &Request<Incoming>, app: &App) -> Response<Body> {
    if let Err(reason) = wait(req, app).await {
        return bad_request(reason);
    }
    let query = req.uri().query();
    let size_text = query::param(query, "size").unwrap_or("");
    // whoami's default when size is missing: 1.
    let size = match size_text {
        "" => Ok(1),
        text => text.parse::<u64>(),
    };
    let Ok(size) = size else {
        return bad_request(format!("size={size_text} is not a whole number from 0 up"));
    };
    let unit_text = query::param(query, "unit");
    let Some(unit) = query::unit(unit_text) else {
        return bad_request(format!(
            "unit={} is not KB, MB, GB or TB (1024-based; none means bytes)",
            unit_text.unwrap_or("")
        ));
    };
    let max = app.endpoints.max_data;
    let Some(bytes) = size.checked_mul(unit).filter(|&bytes| bytes <= max) else {
        return bad_request(format!(
            "size={size_text} unit={} is over --max-data, {max} bytes",
            unit_text.unwrap_or("")
        ));
    };
    let mut response = Response::new(Either::Right(Pattern::new(bytes)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, TEXT);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes));
    if query::is_true(query::param(query, "attachment")) {
        headers.insert(CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    }
    no_store(response)
}

async fn api(req: Request<Incoming>, remote: SocketAddr, app: &App) -> Response<Body> {
    let env = match waited_and_env(&req, app).await {
        Ok(env) => env,
        Err(refused) => return refused,
    };
    let (parts, _) = req.into_parts();
    let json = api::describe(&parts, remote, app.endpoints.name.as_deref(), env);
    no_store(respond(StatusCode::OK, JSON, json))
}

async fn whoami(req: Request<Incoming>, remote: SocketAddr, app: &App) -> Response<Body> {
    let env = match waited_and_env(&req, app).await {
        Ok(env) => env,
        Err(refused) => return refused,
    };
    let (parts, body) = req.into_parts();
    let body = read_capped(body, page::BODY_CAP).await;
    let text = page::render(&parts, &body, remote, app.endpoints.name.as_deref(), env);
    no_store(respond(StatusCode::OK, TEXT, text))
}

/// `?wait=100ms`: sleeps, at most `--max-wait`. A shutdown does not wait
/// for it: the drain timeout cuts it off with the connection. The timer is
/// boxed, so that the paths that never wait do not carry its room (see
/// [`route`]).
async fn wait<B>(req: &Request<B>, app: &App) -> Result<(), String> {
    let Some(text) = query::param(req.uri().query(), "wait") else {
        return Ok(());
    };
    let duration = query::go_duration(text).map_err(|why| format!("wait={text} {why}"))?;
    let max = app.endpoints.max_wait;
    if duration > max {
        return Err(format!("wait={text} is over --max-wait, {max:?}"));
    }
    Box::pin(tokio::time::sleep(duration)).await;
    Ok(())
}

/// `?env=true`: the environment; `None` when `--expose-env` forbids it.
/// What `/api` and the page do first: `?wait=`, then whether `?env=true`
/// is asked for and allowed; or the answer that says why not.
async fn waited_and_env(req: &Request<Incoming>, app: &App) -> Result<bool, Response<Body>> {
    wait(req, app).await.map_err(bad_request)?;
    env_wanted(req, app).ok_or_else(|| {
        respond(
            StatusCode::FORBIDDEN,
            TEXT,
            Bytes::from_static(b"env=true needs --expose-env: environments hold secrets\n"),
        )
    })
}

fn env_wanted<B>(req: &Request<B>, app: &App) -> Option<bool> {
    let wanted = query::is_true(query::param(req.uri().query(), "env"));
    (!wanted || app.endpoints.expose_env).then_some(wanted)
}

/// Up to `cap` bytes of the body. The rest is read and dropped, so that
/// the client, still sending, reads the answer rather than a reset; a body
/// that takes longer than `BODY_TIMEOUT` is cut there.
async fn read_capped(mut body: Incoming, cap: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    let read = async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                let room = cap - bytes.len();
                bytes.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
    };
    let _ = tokio::time::timeout(BODY_TIMEOUT, read).await;
    bytes
}

fn add_headers(response: &mut Response<Body>, endpoints: &Endpoints) {
    for (name, value) in &endpoints.response_headers {
        response.headers_mut().append(name.clone(), value.clone());
    }
}

/// For every answer that describes this server or the request: a caching
/// proxy must never answer for a replica.
fn no_store(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().insert(CACHE_CONTROL, NO_STORE);
    response
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = respond(
        StatusCode::METHOD_NOT_ALLOWED,
        TEXT,
        Bytes::from_static(b"405 method not allowed\n"),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// A 400 with its reason, one line.
fn bad_request(mut reason: String) -> Response<Body> {
    reason.push('\n');
    respond(StatusCode::BAD_REQUEST, TEXT, reason)
}

fn respond(
    status: StatusCode,
    content_type: HeaderValue,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

/// Whether a cheap path's answer may be cached (see [`no_store`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cache {
    Allowed,
    NoStore,
}

/// An answer in the request's header map, emptied: hyper reads the next
/// request's headers into the map of the last answer, so on a keep-alive
/// connection one map goes round and the cheap paths allocate nothing
/// (tests/allocations.rs). A new map would allocate its table and entries
/// on the first insert, every request. Swapped in place rather than
/// passed along: each move of a map is 96 bytes copied. `Cache-Control`
/// is set here too, not by [`no_store`] around the answer: each move of
/// an answer is 152 bytes copied.
fn respond_in(
    req: &mut Request<Incoming>,
    status: StatusCode,
    content_type: HeaderValue,
    cache: Cache,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(body.into())));
    let headers = response.headers_mut();
    std::mem::swap(headers, req.headers_mut());
    headers.clear();
    headers.insert(CONTENT_TYPE, content_type);
    if cache == Cache::NoStore {
        headers.insert(CACHE_CONTROL, NO_STORE);
    }
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn returned_size<A, B, C, D, E, R>(_: impl Fn(A, B, C, D, E) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// hyper moves each request's future into its own, byte by byte (440
    /// bytes when written; 2 320 before `handle` and the boxes): what holds
    /// more across a wait, a timer or a body being read, goes in a box.
    #[test]
    fn a_requests_future_stays_small() {
        let size = returned_size(handle);
        assert!(size <= 512, "handle's future is {size} bytes");
    }
}
