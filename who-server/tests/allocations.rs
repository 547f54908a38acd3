//! Heap allocations per keep-alive request, counted by a global allocator
//! on the server's own thread (issue 19: musl's allocator is slow per call
//! and takes one global lock, so every allocation on the request path costs
//! the static image more than its glibc twin). Zero is the aim.
//!
//! The server is the production one, started in-process through the library
//! on its own thread and current-thread runtime, as each worker of the binary
//! runs. Only allocations made on that thread are counted, so the client
//! (this test's thread) may allocate as it likes. Counts are those of the
//! test (debug) build; optimisation does not change which allocations are
//! made.
//!
//! Gone already: hyper's read after each head to see whether the client
//! hung up mid-request, which, while the request in flight still pointed
//! into the read buffer, took a new 8 KiB buffer and a 40-byte shared
//! header for it on every request (server.rs, `half_close`); hyper's header
//! timeout, which boxed a new timer for every request (watched.rs keeps one
//! per connection instead).
//!
//! `WHO_ALLOC_TRACE=1 cargo test -p who-server --test allocations -- --nocapture`
//! prints a backtrace of every allocation in the measured windows: how the
//! comments below were written.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::Duration;

use who_server::{Config, Server, Stopper};

/// Each path with the allocations (calls to `alloc`, `alloc_zeroed` and
/// `realloc`) the server makes per request once warm. A path is one line.
///
/// None: the answer's headers go into the request's own map, emptied
/// (routes.rs, `reuse`), which hyper reads the next request into, so one
/// map goes round per connection; the hostname is a cached `Bytes`
/// (info.rs), cloned by a reference count. A new map per answer cost 2
/// (its index table and its entries), `hostname::get` per request 2 more.
const PATHS: &[(&str, u64)] = &[("/who", 0), ("/", 0), ("/health", 0), ("/bench", 0)];

/// Requests before counting: buffers, caches and the timer wheel settle.
const WARM_UP: u64 = 200;
/// Requests counted per path.
const MEASURED: u64 = 1000;

#[test]
fn keep_alive_requests_allocate_no_more_than_counted() {
    let server = start_server();
    let mut client = TcpStream::connect(server.addr).expect("connect");
    client.set_nodelay(true).expect("TCP_NODELAY");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut failures = Vec::new();
    for &(path, expected) in PATHS {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: who\r\nUser-Agent: allocations\r\n\r\n");
        for _ in 0..WARM_UP {
            exchange(&mut client, request.as_bytes());
        }
        let allocations = server.count_over(|| {
            for _ in 0..MEASURED {
                exchange(&mut client, request.as_bytes());
            }
        });
        let per_request = allocations as f64 / MEASURED as f64;
        eprintln!("{path}: {per_request:.3} allocations per request");
        // A rare allocation (a buffer regrown once) is not the request's:
        // the per-request count is exact within 1 in 20 requests.
        if (per_request - expected as f64).abs() > 0.05 {
            failures.push(format!(
                "{path}: {per_request:.3} allocations per request, expected {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Sends one request and reads its whole answer (head, then as many body
/// bytes as `content-length` says), asserting a 200.
fn exchange(client: &mut TcpStream, request: &[u8]) {
    client.write_all(request).expect("send the request");
    let mut answer = [0u8; 4096];
    let mut len = 0;
    loop {
        let n = client.read(&mut answer[len..]).expect("read the answer");
        assert!(n > 0, "connection closed after {len} bytes");
        len += n;
        let Some(head) = find(&answer[..len], b"\r\n\r\n") else {
            continue;
        };
        let head_len = head + 4;
        let text = std::str::from_utf8(&answer[..head_len]).expect("ASCII head");
        assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
        let body_len: usize = text
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().expect("a length"))
            })
            .expect("content-length");
        while len < head_len + body_len {
            let n = client.read(&mut answer[len..]).expect("read the body");
            assert!(n > 0, "connection closed mid-body");
            len += n;
        }
        assert_eq!(len, head_len + body_len, "more than one answer");
        return;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

struct TestServer {
    addr: SocketAddr,
    allocations: &'static AtomicU64,
    stopper: Stopper,
    thread: Option<thread::JoinHandle<()>>,
}

impl TestServer {
    /// Allocations the server's thread made while `work` ran. The server
    /// sets up the next request's read after writing an answer, so both
    /// ends of the window wait for it to fall idle.
    fn count_over(&self, work: impl FnOnce()) -> u64 {
        thread::sleep(SETTLE);
        let before = self.allocations.load(Relaxed);
        TRACING.store(trace_requested(), Relaxed);
        work();
        thread::sleep(SETTLE);
        TRACING.store(false, Relaxed);
        self.allocations.load(Relaxed) - before
    }
}

/// Long enough for the server's thread to finish what an answer started.
const SETTLE: Duration = Duration::from_millis(100);

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stopper.stop();
        let _ = self.thread.take().map(thread::JoinHandle::join);
    }
}

/// The library's server on a free port of 127.0.0.1, on a thread of its
/// own whose allocations go to a counter of its own.
fn start_server() -> TestServer {
    let config = Config {
        bind: Some(Ipv4Addr::LOCALHOST.into()),
        port: 0,
        workers: 1,
        ..Config::default()
    };
    let server = Server::bind(&config).expect("bind port 0");
    let addr = server.local_addr().expect("local address");
    let allocations: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
    let stopper = server.stopper();
    let thread = thread::spawn(move || {
        // One worker: it serves on this thread, whose allocations are counted.
        COUNTER.with(|counter| counter.set(Some(allocations)));
        server.serve(|_| {}).expect("serve");
    });
    TestServer {
        addr,
        allocations,
        stopper,
        thread: Some(thread),
    }
}

thread_local! {
    /// The counter of the thread's allocations, if they are counted.
    static COUNTER: Cell<Option<&'static AtomicU64>> = const { Cell::new(None) };
    /// Set while a backtrace is taken, whose own allocations are not traced.
    static IN_TRACE: Cell<bool> = const { Cell::new(false) };
}

/// Backtraces are printed while a window is measured and WHO_ALLOC_TRACE is set.
static TRACING: AtomicBool = AtomicBool::new(false);

fn trace_requested() -> bool {
    std::env::var_os("WHO_ALLOC_TRACE").is_some_and(|v| v == "1")
}

struct Counting;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

impl Counting {
    fn count(&self, layout: Layout) {
        // try_with: allocations during the thread's teardown count nowhere.
        let Ok(Some(counter)) = COUNTER.try_with(Cell::get) else {
            return;
        };
        counter.fetch_add(1, Relaxed);
        if TRACING.load(Relaxed) && !IN_TRACE.with(|t| t.replace(true)) {
            let trace = std::backtrace::Backtrace::force_capture();
            eprintln!("allocation of {} bytes:\n{trace}", layout.size());
            IN_TRACE.with(|t| t.set(false));
        }
    }
}

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.count(layout);
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.count(layout);
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.count(layout);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
    }
}
