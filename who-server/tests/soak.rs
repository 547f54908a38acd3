//! The soak (`make soak`, issue 20): who-server under a mix of good and
//! hostile clients for minutes, sampled every few seconds; not part of
//! `make test`. 127.0.0.1 only.
//!
//! A Rust test target rather than a script: the hostile clients (slow
//! heads, slow readers, resets, random bytes) need socket options and
//! timing that bash would hand to a dozen helper programs, and the checks
//! read `/proc` directly. wrk makes the load, as in the benchmarks.
//!
//! Environment: `SOAK_TIME` (a duration, default `10m`), `SOAK_TARGETS`
//! (`binary`, `image` or `binary,image`, the default), `SOAK_IMAGE`
//! (default `who:rust`). Run with `--release --ignored --nocapture`.

mod common;

use common::process;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use testkit::docker::Container;
use testkit::{procfs, wrk};

/// The server's cap; the clients below hold about 95% of it.
const CAP: usize = 512;
const IDLE_CLIENTS: usize = 440;
const SLOW_HEADS: usize = 20;
const SLOW_READERS: usize = 8;
/// The server's log interval: the log may write one line per kind per interval.
const LOG_INTERVAL_S: u64 = 10;
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// A probe answered later than this while a slot was free fails the soak.
const PROBE_LIMIT: Duration = Duration::from_secs(1);
/// The first samples are taken while the idle clients connect.
const WARM_UP: Duration = Duration::from_secs(15);

/// How the stop went (`Ok` if it exited as it should), and the whole log.
type Stopped = (Result<(), String>, Vec<String>);

/// The server under soak: where it listens, its pid, and its log so far.
struct Target {
    name: String,
    addr: SocketAddr,
    pid: u32,
    log: Box<dyn Fn() -> Vec<String>>,
    /// Stops it; `Ok` if it exited as it should, and the whole log.
    stop: Box<dyn FnOnce() -> Stopped>,
}

fn binary() -> Target {
    let mut who = process::start(&[
        "--workers",
        "2",
        "--max-connections",
        &CAP.to_string(),
        "--log-interval",
        &format!("{LOG_INTERVAL_S}s"),
    ]);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = who.child.stderr.take().expect("piped stderr");
    let read = lines.clone();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            read.lock().unwrap().push(line);
        }
    });
    let all = lines.clone();
    Target {
        name: "release binary, 2 workers".to_owned(),
        addr: who.addr,
        pid: who.pid(),
        log: Box::new(move || lines.lock().unwrap().clone()),
        stop: Box::new(move || {
            who.signal("TERM");
            let (status, took) = who.exit_within(Duration::from_secs(10));
            // stderr is closed now: the reader has every line.
            let _ = reader.join();
            let log = all.lock().unwrap().clone();
            match status.code() {
                Some(0) => (Ok(()), log),
                _ => (Err(format!("exited {status} after {took:?}")), log),
            }
        }),
    }
}

fn image(image: &str) -> Target {
    let container = Container::run(&[
        "--cpus",
        "1",
        "--memory",
        "64m",
        "-p",
        "127.0.0.1::8080",
        image,
        "--max-connections",
        &CAP.to_string(),
        "--log-interval",
        &format!("{LOG_INTERVAL_S}s"),
    ]);
    let port = container.published_port();
    container.wait_until_serving(
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(10),
    );
    let pid = container.field("{{.State.Pid}}").parse().expect("a pid");
    let id = container.id.clone();
    Target {
        name: format!("{image}, --cpus 1 --memory 64m"),
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        pid,
        log: Box::new(move || container_log(&id)),
        stop: Box::new(move || {
            let out = Command::new("docker")
                .args(["stop", "-t", "10", &container.id])
                .output()
                .expect("docker stop");
            let code = container.field("{{.State.ExitCode}}");
            // Read before the drop removes the container.
            let log = container_log(&container.id);
            drop(container);
            match (out.status.success(), code.as_str()) {
                (true, "0") => (Ok(()), log),
                _ => (
                    Err(format!("docker stop: {}, exit code {code}", out.status)),
                    log,
                ),
            }
        }),
    }
}

/// The container's stderr so far, line by line.
fn container_log(id: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["logs", id])
        .output()
        .expect("docker logs");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What the clients share: when to stop, and what they saw.
#[derive(Default)]
struct Mix {
    stop: AtomicBool,
    /// Answers wrk counted, chunk by chunk.
    answers: AtomicU64,
    wrk_errors: AtomicU64,
    /// Probe latencies (µs) since the sampler last took them.
    probes: Mutex<Vec<u64>>,
    all_probes: Mutex<Vec<u64>>,
    /// Probes slower than PROBE_LIMIT while a slot was free.
    late: Mutex<Vec<String>>,
}

impl Mix {
    fn running(&self) -> bool {
        !self.stop.load(Relaxed)
    }
}

/// Runs `body` on a thread of its own until the mix stops.
fn client(mix: &Arc<Mix>, body: impl Fn(&Mix) + Send + 'static) -> thread::JoinHandle<()> {
    let mix = mix.clone();
    thread::spawn(move || {
        while mix.running() {
            body(&mix);
        }
    })
}

fn connect(addr: SocketAddr) -> Option<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .ok()?;
    Some(stream)
}

/// Reads one answer to a keep-alive request: true if it came whole.
fn read_answer(stream: &mut TcpStream) -> bool {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return false,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
        let Some(head) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let length = String::from_utf8_lossy(&answer[..head])
            .lines()
            .find_map(|l| l.strip_prefix("content-length: ")?.parse::<usize>().ok())
            .unwrap_or(0);
        if answer.len() >= head + 4 + length {
            return true;
        }
    }
}

/// wrk on `path` in chunks of SAMPLE_EVERY, so that answers are counted as they come.
fn load(mix: &Mix, addr: SocketAddr, path: &str) {
    let url = format!("http://{addr}{path}");
    let load = wrk::Load {
        threads: 1,
        connections: 8,
        duration: SAMPLE_EVERY,
        timeout: Duration::from_secs(2),
    };
    let out = Command::new("wrk")
        .args(wrk::args(&url, &load).expect("wrk's script"))
        .output()
        .expect("run wrk (apt-get install wrk)");
    match wrk::parse(&String::from_utf8_lossy(&out.stdout)) {
        Ok(report) => {
            mix.answers.fetch_add(report.requests, Relaxed);
            mix.wrk_errors.fetch_add(report.errors.total(), Relaxed);
        }
        Err(_) => {
            mix.wrk_errors.fetch_add(1, Relaxed);
        }
    }
}

/// Keeps IDLE_CLIENTS keep-alive connections open, each asking again every
/// few seconds (inside the header timeout, which closes idle ones).
fn idle_clients(mix: &Mix, addr: SocketAddr) {
    let mut clients: Vec<Option<TcpStream>> = (0..IDLE_CLIENTS).map(|_| None).collect();
    while mix.running() {
        for slot in &mut clients {
            let alive = slot.as_mut().is_some_and(|stream| {
                stream
                    .write_all(b"GET /who HTTP/1.1\r\nHost: x\r\n\r\n")
                    .is_ok()
                    && read_answer(stream)
            });
            if !alive {
                *slot = connect(addr);
            }
            if !mix.running() {
                return;
            }
        }
        thread::sleep(Duration::from_secs(4));
    }
}

/// A head sent a header every 2 s: the header timeout cuts it off.
fn slow_head(mix: &Mix, addr: SocketAddr) {
    let Some(mut stream) = connect(addr) else {
        thread::sleep(Duration::from_millis(100));
        return;
    };
    let _ = stream.write_all(b"GET /who HTTP/1.1\r\nHost: x\r\n");
    while mix.running() && stream.write_all(b"X-Slow: 1\r\n").is_ok() {
        thread::sleep(Duration::from_secs(2));
    }
}

/// 1,000 pipelined requests, then their answers read 256 bytes every 100
/// ms for 20 s; the rest left unread (a reset at close).
fn slow_reader(mix: &Mix, addr: SocketAddr) {
    let Some(mut stream) = connect(addr) else {
        thread::sleep(Duration::from_millis(100));
        return;
    };
    let _ = stream.write_all(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000));
    let end = Instant::now() + Duration::from_secs(20);
    let mut buffer = [0u8; 256];
    while mix.running() && Instant::now() < end {
        if matches!(stream.read(&mut buffer), Ok(0) | Err(_)) {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Random bytes ending in a blank line (so the parser decides at once),
/// or a request of an HTTP version that does not exist; 50 a second.
fn garbage(mix: &Mix, addr: SocketAddr, seed: &mut u64) {
    let _ = mix;
    if let Some(mut stream) = connect(addr) {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let bytes: Vec<u8> = if *seed % 4 == 0 {
            b"GET /who HTTP/1.2\r\nHost: x\r\n\r\n".to_vec()
        } else {
            let n = (*seed % 512) as usize + 1;
            let mut bytes: Vec<u8> = (0..n)
                .map(|i| (seed.rotate_left(i as u32 % 64) >> 3) as u8)
                .collect();
            bytes.extend_from_slice(b"\r\n\r\n");
            bytes
        };
        let _ = stream.write_all(&bytes);
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
    thread::sleep(Duration::from_millis(20));
}

/// Half a request, then a reset (SO_LINGER 0); 50 a second.
fn reset(addr: SocketAddr) {
    if let Some(mut stream) = connect(addr) {
        let _ = stream.write_all(b"GET /api HTTP/1.1\r\nHost: x\r\nUser-Agent: so");
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on our own open socket with a linger struct.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as u32,
            );
        }
    }
    thread::sleep(Duration::from_millis(20));
}

/// `GET /health` on a new connection every 250 ms, timed.
fn probe(mix: &Mix, addr: SocketAddr, pid: u32, base_fds: usize) {
    let start = Instant::now();
    let answered = connect(addr).is_some_and(|mut stream| {
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .is_ok()
            && read_answer(&mut stream)
    });
    let took = start.elapsed();
    if !answered || took > PROBE_LIMIT {
        // The connections the server holds, the probe's among them.
        let held = fds(pid).saturating_sub(base_fds);
        if held < CAP {
            // The machine's load says whether the server was starved of CPU.
            let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
            mix.late.lock().unwrap().push(format!(
                "a probe {} after {took:?} while the server held {held} of {CAP} connections \
                 (load average {})",
                if answered {
                    "answered"
                } else {
                    "got no answer"
                },
                load.split(' ').take(3).collect::<Vec<_>>().join(" ")
            ));
        }
    }
    let us = took.as_micros() as u64;
    mix.probes.lock().unwrap().push(us);
    mix.all_probes.lock().unwrap().push(us);
    thread::sleep(Duration::from_millis(250));
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

fn p99(values: &mut [u64]) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    values[(values.len() * 99).div_ceil(100) - 1]
}

fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    answers_per_s: u64,
    probe_p99_us: u64,
    rss_kib: u64,
    fds: u64,
    threads: u64,
    log_lines: u64,
}

/// The log's summary lines, one kind each: at most one per interval.
const SUMMARIES: [&str; 6] = [
    "header timeout: ",
    "bad request: ",
    "connection reset: ",
    "accept failed: ",
    "connection error: ",
    "log: ",
];

/// The lines the log may write: the summaries, and the drain's line.
fn summarised(line: &str) -> Option<&'static str> {
    SUMMARIES
        .iter()
        .copied()
        .chain(["drain timeout of "])
        .find(|prefix| line.starts_with(prefix))
}

/// Soaks `target` for `time`; the failures, and the samples printed.
fn soak(target: Target, time: Duration) -> Vec<String> {
    let mut failures = Vec::new();
    let (addr, pid) = (target.addr, target.pid);
    let base_fds = fds(pid);
    let mix = Arc::new(Mix::default());
    let mut clients = Vec::new();
    for path in ["/who", "/api", "/"] {
        clients.push(client(&mix, move |mix| load(mix, addr, path)));
    }
    clients.push(client(&mix, move |mix| idle_clients(mix, addr)));
    for _ in 0..SLOW_HEADS {
        clients.push(client(&mix, move |mix| slow_head(mix, addr)));
    }
    for _ in 0..SLOW_READERS {
        clients.push(client(&mix, move |mix| slow_reader(mix, addr)));
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    clients.push({
        let mix = mix.clone();
        thread::spawn(move || {
            while mix.running() {
                garbage(&mix, addr, &mut seed);
            }
        })
    });
    clients.push(client(&mix, move |_| reset(addr)));
    clients.push(client(&mix, move |mix| probe(mix, addr, pid, base_fds)));

    println!("\n{}: soaking for {time:?}", target.name);
    println!("     t  answers/s  probe p99 ms  RSS KiB   fds  threads  log lines");
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut answers_before = 0;
    let mut last = start;
    while start.elapsed() < time {
        thread::sleep(SAMPLE_EVERY.min(time.saturating_sub(start.elapsed())));
        let now = Instant::now();
        let answers = mix.answers.load(Relaxed);
        let status = procfs::status(pid).unwrap_or_default();
        let sample = Sample {
            at: now - start,
            answers_per_s: ((answers - answers_before) as f64 / (now - last).as_secs_f64()) as u64,
            probe_p99_us: p99(&mut std::mem::take(&mut *mix.probes.lock().unwrap())),
            rss_kib: status.vm_rss_bytes.unwrap_or(0) / 1024,
            fds: fds(pid) as u64,
            threads: status.threads.unwrap_or(0),
            log_lines: (target.log)().len() as u64,
        };
        (answers_before, last) = (answers, now);
        println!(
            "{:>6.0} {:>10} {:>13.1} {:>8} {:>5} {:>8} {:>10}",
            sample.at.as_secs_f64(),
            sample.answers_per_s,
            sample.probe_p99_us as f64 / 1000.0,
            sample.rss_kib,
            sample.fds,
            sample.threads,
            sample.log_lines
        );
        samples.push(sample);
    }
    mix.stop.store(true, Relaxed);
    for client in clients {
        let _ = client.join();
    }
    let elapsed = start.elapsed();

    // Growth: the last third of the samples after the warm-up against the first.
    let steady: Vec<&Sample> = samples.iter().filter(|s| s.at >= WARM_UP).collect();
    let third = steady.len() / 3;
    if third == 0 {
        failures.push(format!(
            "too short to judge growth: {} samples after the warm-up",
            steady.len()
        ));
    } else {
        let (first, rest) = steady.split_at(third);
        let last_third = &rest[rest.len() - third..];
        let of = |samples: &[&Sample], field: fn(&Sample) -> u64| {
            median(&samples.iter().map(|s| field(s)).collect::<Vec<_>>())
        };
        for (what, field, slack) in [
            (
                "RSS KiB",
                (|s: &Sample| s.rss_kib) as fn(&Sample) -> u64,
                2048,
            ),
            ("descriptors", |s: &Sample| s.fds, 16),
            ("threads", |s: &Sample| s.threads, 0),
        ] {
            let (before, after) = (of(first, field), of(last_third, field));
            println!("{what}: median of the first third {before}, of the last {after}");
            if after > before + before / 10 + slack {
                failures.push(format!(
                    "{what} grew: median {before} in the first third, {after} in the last"
                ));
            }
        }
    }
    failures.extend(mix.late.lock().unwrap().iter().cloned());

    let (stopped, log) = (target.stop)();
    if let Err(e) = stopped {
        failures.push(format!("SIGTERM after the soak: {e}"));
    }
    let intervals = elapsed.as_secs() / LOG_INTERVAL_S + 2;
    for kind in SUMMARIES {
        let n = log.iter().filter(|l| l.starts_with(kind)).count() as u64;
        println!("log lines {kind:<20} {n}");
        if n > intervals {
            failures.push(format!(
                "{n} `{kind}` lines in {elapsed:?}: more than one per {LOG_INTERVAL_S} s"
            ));
        }
    }
    let drain_lines = log
        .iter()
        .filter(|l| l.starts_with("drain timeout of "))
        .count();
    if drain_lines > 2 {
        failures.push(format!("{drain_lines} drain timeout lines"));
    }
    for line in log.iter().filter(|l| summarised(l).is_none()) {
        failures.push(format!("a log line that is not a summary: {line}"));
    }
    let mut all = mix.all_probes.lock().unwrap().clone();
    let probes = all.len();
    println!(
        "{}: {} answers by wrk ({:.0}/s), {} wrk errors, {probes} probes, p99 {:.1} ms, max {:.1} ms",
        target.name,
        mix.answers.load(Relaxed),
        mix.answers.load(Relaxed) as f64 / elapsed.as_secs_f64(),
        mix.wrk_errors.load(Relaxed),
        p99(&mut all) as f64 / 1000.0,
        all.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
    if mix.answers.load(Relaxed) == 0 {
        failures.push("wrk got no answer".to_owned());
    }
    failures
        .into_iter()
        .map(|f| format!("{}: {f}", target.name))
        .collect()
}

#[test]
#[ignore = "minutes long: `make soak`"]
fn a_soak_under_good_and_hostile_clients_leaks_nothing_and_keeps_serving() {
    // The clients hold over 500 descriptors.
    who_server::descriptors::raise_limit();
    let time = std::env::var("SOAK_TIME").map_or(Duration::from_secs(600), |t| {
        humantime::parse_duration(&t).expect("SOAK_TIME: a duration such as 10m")
    });
    let targets = std::env::var("SOAK_TARGETS").unwrap_or_else(|_| "binary,image".to_owned());
    let image_name = std::env::var("SOAK_IMAGE").unwrap_or_else(|_| "who:rust".to_owned());
    let mut failures = Vec::new();
    for name in targets.split(',') {
        let target = match name {
            "binary" => binary(),
            "image" => image(&image_name),
            other => panic!("SOAK_TARGETS: {other:?} is neither binary nor image"),
        };
        failures.extend(soak(target, time));
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
