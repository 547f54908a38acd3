use std::io;
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use hyper::header::{HeaderName, HeaderValue};
use tokio::runtime::Runtime;
use tokio::sync::watch;
use who_server::log::{Counters, Writer};
use who_server::{
    byte_count, check, descriptors, shutdown_signal, Config, Endpoints, Root, Server,
};

/// GET /who answers the hostname of the machine or container.
///
/// Endpoints: / (hello), /who (hostname), /health (ok), /api (JSON about the
/// server and the request), and traefik/whoami's: /whoami (its text page),
/// /bench, /data, /echo (WebSocket).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Port to listen on (0 picks a free one); WHOAMI_PORT_NUMBER is read
    /// too, after PORT.
    #[arg(short, long, env = "PORT", default_value_t = 8080)]
    port: u16,
    /// Address to listen on [default: every interface, IPv6 and IPv4].
    #[arg(short, long, value_name = "ADDR")]
    bind: Option<IpAddr>,
    /// Cut off clients that take longer than this to send a request head.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    header_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// After SIGTERM or SIGINT, how long requests in flight may still run.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    drain_timeout: Duration,
    /// Threads serving requests, each with its own listening socket
    /// [default: the CPUs available, as a container's CPU quota allows].
    #[arg(long, env = "WORKERS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Errors caused by clients are summed up in one line per kind this often.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = positive_duration)]
    log_interval: Duration,
    /// What / and unknown paths serve: hello (the Hello World line, 404)
    /// or whoami (traefik/whoami's text page).
    #[arg(long, env = "WHO_ROOT", value_name = "hello|whoami", default_value = "hello", value_parser = root)]
    root: Root,
    /// A name for this replica, on the text page and in /api; WHOAMI_NAME
    /// is read too, after WHO_NAME.
    #[arg(long, env = "WHO_NAME")]
    name: Option<String>,
    /// The largest /data answer (binary units: 512KB, 1GiB).
    #[arg(long, value_name = "BYTES", default_value = "1GiB", value_parser = byte_count)]
    max_data: u64,
    /// The longest ?wait= a request may ask for.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    max_wait: Duration,
    /// Let POST /health set the status it answers (anyone who reaches the
    /// port could take this replica out of its load balancer).
    #[arg(long)]
    allow_health_override: bool,
    /// Let ?env=true show the environment (it may hold secrets).
    #[arg(long)]
    expose_env: bool,
    /// Add this header to every answer; repeatable.
    #[arg(long, value_name = "'NAME: VALUE'", value_parser = response_header)]
    response_header: Vec<(HeaderName, HeaderValue)>,
    /// One line per request on stdout: time, client, X-Forwarded-For,
    /// method, path, status, bytes, duration.
    #[arg(long)]
    access_log: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Exit 0 only if URL answers 200 OK: a HEALTHCHECK without shell or curl.
    Check {
        #[arg(default_value = check::DEFAULT_URL)]
        url: String,
        /// Give up after this long.
        #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = duration)]
        timeout: Duration,
    },
}

fn main() -> ExitCode {
    let cli = parse();
    if let Some(Command::Check { url, timeout }) = &cli.command {
        return match check::check(url, *timeout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(format_args!("check {url}: {e}")),
        };
    }
    let workers = cli.workers.map_or_else(default_workers, usize::from);
    let (max_connections, lowered) = descriptors::fit(
        cli.max_connections as usize,
        workers,
        descriptors::raise_limit(),
    );
    if let Some(message) = lowered {
        eprintln!("who-server: {message}");
    }
    let config = Config {
        bind: cli.bind,
        port: cli.port,
        header_timeout: cli.header_timeout,
        max_connections,
        drain_timeout: cli.drain_timeout,
        endpoints: Endpoints {
            root: cli.root,
            name: cli.name,
            max_data: cli.max_data,
            max_wait: cli.max_wait,
            allow_health_override: cli.allow_health_override,
            expose_env: cli.expose_env,
            response_headers: cli.response_header,
            access_log: cli.access_log,
        },
    };
    // Everything that can fail does so before the `listening on` line.
    let mut runtimes = Vec::with_capacity(workers);
    for _ in 0..workers {
        match runtime() {
            Ok(runtime) => runtimes.push(runtime),
            Err(e) => return fail(format_args!("cannot start the async runtime: {e}")),
        }
    }
    let main_runtime = runtimes.remove(0);
    let shutdown = match main_runtime.block_on(async { shutdown_signal() }) {
        Ok(shutdown) => shutdown,
        Err(e) => return fail(format_args!("cannot install signal handlers: {e}")),
    };
    let counters = Arc::new(Counters::default());
    let mut servers = match Server::bind_workers(&config, workers, counters.clone()) {
        Ok(servers) => servers.into_iter(),
        Err(e) => {
            return fail(format_args!(
                "cannot listen on {}: {e}",
                shown_address(&config)
            ))
        }
    };
    let first = servers.next().expect("bind_workers binds at least one");
    let addr = match first.local_addr() {
        Ok(addr) => addr,
        Err(e) => return fail(format_args!("cannot read the listening address: {e}")),
    };
    let log = match Writer::start(counters, cli.log_interval) {
        Ok(log) => log,
        Err(e) => return fail(format_args!("cannot start the log thread: {e}")),
    };

    // SIGTERM reaches the main runtime; the watch passes it on to the others.
    let (stop, stopped) = watch::channel(false);
    let mut threads = Vec::new();
    for (i, (runtime, server)) in runtimes.into_iter().zip(servers).enumerate() {
        let mut stopped = stopped.clone();
        let spawned = thread::Builder::new()
            .name(format!("worker-{}", i + 1))
            .spawn(move || {
                runtime.block_on(server.run(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                }))
            });
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(e) => return fail(format_args!("cannot start a worker thread: {e}")),
        }
    }
    // Said once every worker runs, so that whoever reads it finds them all.
    println!("listening on http://{addr}");
    let mut result = main_runtime.block_on(first.run(async move {
        shutdown.await;
        let _ = stop.send(true);
    }));
    for thread in threads {
        // A worker cannot panic (panic = "abort" in release), so join only waits.
        result = result.and(thread.join().unwrap_or(Ok(())));
    }
    log.finish(LOG_GRACE);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format_args!("cannot serve: {e}")),
    }
}

/// The flags, with whoami's variables read where ours are not set, so that
/// a compose file written for traefik/whoami works unchanged.
fn parse() -> Cli {
    let mut command = Cli::command();
    let matches = command.get_matches_mut();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if matches.value_source("port") == Some(ValueSource::DefaultValue) {
        if let Some(port) = std::env::var_os("WHOAMI_PORT_NUMBER") {
            let port = port.to_string_lossy();
            cli.port = port.parse().unwrap_or_else(|_| {
                command
                    .error(
                        clap::error::ErrorKind::ValueValidation,
                        format!("WHOAMI_PORT_NUMBER={port:?} is not a port number (0-65535)"),
                    )
                    .exit()
            });
        }
    }
    if cli.name.is_none() {
        cli.name = std::env::var("WHOAMI_NAME")
            .ok()
            .filter(|name| !name.is_empty());
    }
    cli
}

fn root(text: &str) -> Result<Root, String> {
    match text {
        "hello" => Ok(Root::Hello),
        "whoami" => Ok(Root::Whoami),
        _ => Err("expected hello or whoami".to_owned()),
    }
}

/// `'X-Replica: a'`, as curl's -H takes it.
fn response_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or("expected 'NAME: VALUE', with a colon")?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("{:?} is not a header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("{:?} is not a header value", value.trim()))?;
    Ok((name, value))
}

/// How long the exit waits for the last log lines when stderr is blocked.
const LOG_GRACE: Duration = Duration::from_millis(200);

/// One current-thread runtime per worker, each with its own listening
/// socket: measured against tokio's multi-threaded runtime on the static
/// musl build (README, "Build choices, measured").
fn runtime() -> io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The CPUs this process may use: affinity and a container's CPU quota count.
fn default_workers() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// `10s`, `500ms`, `1m 30s`: one parser for every duration flag, which
/// keeps one copy of it in the binary.
fn duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text)
}

/// A duration above zero: a zero log interval would spin.
fn positive_duration(text: &str) -> Result<Duration, String> {
    match duration(text) {
        Ok(d) if d.is_zero() => Err("must be more than 0".to_owned()),
        other => other.map_err(|e| e.to_string()),
    }
}

fn shown_address(config: &Config) -> String {
    match config.bind {
        Some(ip) => std::net::SocketAddr::new(ip, config.port).to_string(),
        None => format!("port {}", config.port),
    }
}

fn fail(message: std::fmt::Arguments) -> ExitCode {
    eprintln!("who-server: {message}");
    ExitCode::FAILURE
}
