use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use who_server::{check, shutdown_signal, Config, Server};

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
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    header_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// After SIGTERM or SIGINT, how long requests in flight may still run.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
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
        #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = humantime::parse_duration)]
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
    // One thread: measured on musl, where the allocator is slow under
    // threads, it served more requests per second than the multi-threaded
    // runtime on one core, in an 82 KB smaller binary (README, "Build
    // choices, measured").
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(serve(cli)),
        Err(e) => fail(format_args!("cannot start the async runtime: {e}")),
    }
}

async fn serve(cli: Cli) -> ExitCode {
    let config = Config {
        bind: cli.bind,
        port: cli.port,
        header_timeout: cli.header_timeout,
        max_connections: cli.max_connections as usize,
        drain_timeout: cli.drain_timeout,
    };
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(e) => return fail(format_args!("cannot install signal handlers: {e}")),
    };
    let server = match Server::bind(&config) {
        Ok(server) => server,
        Err(e) => {
            return fail(format_args!(
                "cannot listen on {}: {e}",
                shown_address(&config)
            ))
        }
    };
    match server.local_addr() {
        Ok(addr) => println!("listening on http://{addr}"),
        Err(e) => return fail(format_args!("cannot read the listening address: {e}")),
    }
    server.run(shutdown).await;
    ExitCode::SUCCESS
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
