//! What the server says about itself — hostname and addresses — read at
//! most once a second per worker thread and shared in between.
//!
//! Reading them costs a `uname` and a `getifaddrs` (a netlink dump) and
//! allocates; per request that made `/api` seven times dearer than `/who`.
//! A hostname or address can change under a running container, so each
//! worker forgets what it cached once a second ([`keep_fresh`]) and the
//! next request reads it again: no clock read on the request path (22-23
//! CPU-ns each here, `bench/clock-cost.sh`). Each worker thread keeps its
//! own: no lock on the request path.

use std::cell::RefCell;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;

/// How stale what is served may be.
const FRESH: Duration = Duration::from_secs(1);

struct Cached<T> {
    read: Option<T>,
}

impl<T: Clone> Cached<T> {
    const fn new() -> Self {
        Cached { read: None }
    }

    fn get(&mut self, read: impl FnOnce() -> T) -> T {
        self.read.get_or_insert_with(read).clone()
    }

    fn forget(&mut self) {
        self.read = None;
    }
}

thread_local! {
    static HOSTNAME: RefCell<Cached<Bytes>> = const { RefCell::new(Cached::new()) };
    static ADDRESSES: RefCell<Cached<Arc<[String]>>> = const { RefCell::new(Cached::new()) };
}

/// The hostname, or `unknown` as the Go original answers when the lookup
/// fails; a clone of a shared buffer, so no allocation once cached.
pub fn hostname() -> Bytes {
    HOSTNAME.with(|cache| cache.borrow_mut().get(read_hostname))
}

/// Every interface address, loopback and link-local included, in the
/// order Go's `net.Interfaces` gives them: by interface index.
pub fn addresses() -> Arc<[String]> {
    ADDRESSES.with(|cache| cache.borrow_mut().get(read_addresses))
}

/// Makes this thread's requests read the hostname and addresses again
/// once a second, for as long as it runs: each worker runs it beside its
/// connections (server.rs), on the thread whose cache it forgets.
pub async fn keep_fresh() -> Infallible {
    loop {
        tokio::time::sleep(FRESH).await;
        forget();
    }
}

fn forget() {
    HOSTNAME.with(|cache| cache.borrow_mut().forget());
    ADDRESSES.with(|cache| cache.borrow_mut().forget());
}

fn read_hostname() -> Bytes {
    let name = hostname::get()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "unknown".to_owned());
    Bytes::from(name)
}

fn read_addresses() -> Arc<[String]> {
    let interfaces = if_addrs::get_if_addrs().unwrap_or_default();
    // By index, and within an interface in the kernel's order (IPv4 before
    // IPv6): an insertion of each after those with a lower or equal index.
    // A handful of interfaces; a library sort would cost kilobytes of code.
    let mut ordered: Vec<(Option<u32>, String)> = Vec::with_capacity(interfaces.len());
    for interface in &interfaces {
        let at = ordered
            .iter()
            .rposition(|(index, _)| *index <= interface.index)
            .map_or(0, |i| i + 1);
        ordered.insert(at, (interface.index, interface.ip().to_string()));
    }
    ordered.into_iter().map(|(_, ip)| ip).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_value_is_read_again_only_once_forgotten() {
        let mut cache = Cached::new();
        let mut reads = 0;
        let mut read = |n| {
            reads += 1;
            n
        };
        assert_eq!(cache.get(|| read(1)), 1);
        assert_eq!(cache.get(|| read(2)), 1);
        cache.forget();
        assert_eq!(cache.get(|| read(3)), 3);
        assert_eq!(cache.get(|| read(4)), 3);
        assert_eq!(reads, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn each_second_the_cache_is_forgotten_and_not_in_between() {
        let cached = || HOSTNAME.with(|cache| cache.borrow().read.is_some());
        let fresh = tokio::spawn(keep_fresh());
        hostname();
        tokio::time::sleep(FRESH - Duration::from_millis(1)).await;
        assert!(cached(), "forgotten before a second passed");
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(!cached(), "kept past a second");
        hostname();
        tokio::time::sleep(FRESH - Duration::from_millis(2)).await;
        assert!(cached(), "forgotten before the next second passed");
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(!cached(), "kept past the next second");
        fresh.abort();
    }

    #[test]
    fn the_hostname_is_the_systems() {
        let expected = hostname::get().unwrap().into_string().unwrap();
        assert_eq!(hostname(), expected.as_bytes());
        assert_eq!(hostname(), expected.as_bytes(), "and so is the cached one");
    }

    #[test]
    fn the_addresses_include_loopback() {
        assert!(addresses().iter().any(|ip| ip == "127.0.0.1"));
    }

    #[test]
    fn the_addresses_are_ordered_by_interface_index_and_within_one_as_the_kernel_gives_them() {
        // A stable sort by index is the order Go's `net.Interfaces` gives.
        let mut expected: Vec<(Option<u32>, String)> = if_addrs::get_if_addrs()
            .unwrap()
            .iter()
            .map(|interface| (interface.index, interface.ip().to_string()))
            .collect();
        expected.sort_by_key(|(index, _)| *index);
        let expected: Vec<String> = expected.into_iter().map(|(_, ip)| ip).collect();
        assert_eq!(read_addresses().to_vec(), expected);
    }
}
