use std::net::IpAddr;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::{Parser, Subcommand};
use who_server::{check, descriptors, Config, Server};

/// GET /who answers the hostname of the machine or container.
///
/// Endpoints: / (hello), /who (hostname), /health (ok), /api (JSON about the
/// server and the request).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Port to listen on (0 picks a free one).
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
    /// Threads serving requests, all accepting from one listening socket
    /// [default: the CPUs available, as a container's CPU quota allows].
    #[arg(long, env = "WORKERS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Errors caused by clients are summed up in one line per kind this often.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = positive_duration)]
    log_interval: Duration,
    #[command(subcommand)]
    command: Option<Command>,
    /// After SIGTERM or SIGINT, how long /health answers 503 while every
    /// other request and new connection is still served, before the drain
    /// (a second signal skips it). For replicas behind a load balancer.
    #[arg(long, env = "WHO_SHUTDOWN_DELAY", value_name = "DURATION", default_value = "0s", value_parser = duration)]
    shutdown_delay: Duration,
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
    let cli = Cli::parse();
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
        workers,
        log_interval: cli.log_interval,
        shutdown_delay: cli.shutdown_delay,
    };
    // Everything that can fail does so before the `listening on` line.
    let served = Server::bind(&config).and_then(|server| {
        server.stop_on_signals()?;
        server.serve(|addr| println!("listening on http://{addr}"))
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format_args!("{e}")),
    }
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

fn fail(message: std::fmt::Arguments) -> ExitCode {
    eprintln!("who-server: {message}");
    ExitCode::FAILURE
}
