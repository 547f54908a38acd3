use std::net::IpAddr;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use hyper::header::{HeaderName, HeaderValue};
use who_server::{
    byte_count, check, defaults, descriptors, go_duration, Config, Endpoints, Root, Server,
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
    #[arg(short, long, env = "PORT", default_value_t = defaults::PORT)]
    port: u16,
    /// Address to listen on [default: every interface, IPv6 and IPv4].
    #[arg(short, long, value_name = "ADDR")]
    bind: Option<IpAddr>,
    /// Cut off clients that take longer than this to send a request head.
    #[arg(long, value_name = "DURATION", default_value = defaults::HEADER_TIMEOUT, value_parser = duration)]
    header_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = defaults::MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// After SIGTERM or SIGINT, how long requests in flight may still run.
    #[arg(long, value_name = "DURATION", default_value = defaults::DRAIN_TIMEOUT, value_parser = duration)]
    drain_timeout: Duration,
    /// Threads serving requests, all accepting from one listening socket
    /// [default: the CPUs available, as a container's CPU quota allows].
    #[arg(long, env = "WORKERS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// After SIGTERM or SIGINT, how long /health answers 503 while every
    /// other request and new connection is still served, before the drain
    /// (a second signal skips it). For replicas behind a load balancer.
    #[arg(long, env = "WHO_SHUTDOWN_DELAY", value_name = "DURATION", default_value = defaults::SHUTDOWN_DELAY, value_parser = duration)]
    shutdown_delay: Duration,
    /// Errors caused by clients are summed up in one line per kind this often.
    #[arg(long, value_name = "DURATION", default_value = defaults::LOG_INTERVAL, value_parser = positive_duration)]
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
    #[arg(long, value_name = "BYTES", default_value = defaults::MAX_DATA, value_parser = byte_count)]
    max_data: u64,
    /// The longest ?wait= a request may ask for.
    #[arg(long, value_name = "DURATION", default_value = defaults::MAX_WAIT, value_parser = duration)]
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
    /// Serve HTTPS (and HTTP/2 by ALPN) with this certificate chain, PEM;
    /// with --key. SIGHUP reads both again.
    #[cfg(feature = "tls")]
    #[arg(long, env = "WHO_CERT", value_name = "FILE", requires = "key")]
    cert: Option<std::path::PathBuf>,
    /// The certificate's private key, PEM.
    #[cfg(feature = "tls")]
    #[arg(long, env = "WHO_KEY", value_name = "FILE", requires = "cert")]
    key: Option<std::path::PathBuf>,
    /// Require a client certificate signed by one of these CAs, PEM
    /// (mutual TLS). Without it one is asked for and shown, not checked.
    #[cfg(feature = "tls")]
    #[arg(long, env = "WHO_CACERT", value_name = "FILE", requires = "cert")]
    cacert: Option<std::path::PathBuf>,
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
        #[arg(long, value_name = "DURATION", default_value = defaults::CHECK_TIMEOUT, value_parser = duration)]
        timeout: Duration,
        /// Take any certificate of an https:// URL. Without a URL, with
        /// WHO_CERT set (the server's), checks https://127.0.0.1:8080/health.
        #[cfg(feature = "tls")]
        #[arg(long)]
        insecure: bool,
    },
}

fn main() -> ExitCode {
    let cli = parse();
    #[cfg(feature = "tls")]
    if let Some(Command::Check {
        url,
        timeout,
        insecure,
    }) = &cli.command
    {
        // The HEALTHCHECK of who:rust-tls: the container's own environment
        // says whether its server speaks TLS.
        let url = match url.as_str() == check::DEFAULT_URL && std::env::var_os("WHO_CERT").is_some()
        {
            true => "https://127.0.0.1:8080/health",
            false => url,
        };
        return match check::check_tls(url, *timeout, *insecure) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(format_args!("check {url}: {e}")),
        };
    }
    #[cfg(not(feature = "tls"))]
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
        #[cfg(feature = "tls")]
        tls: cli
            .cert
            .zip(cli.key)
            .map(|(cert, key)| who_server::TlsFiles {
                cert,
                key,
                cacert: cli.cacert,
            }),
    };
    // Everything that can fail does so before the `listening on` line.
    let served = Server::bind(&config).and_then(|server| {
        server.stop_on_signals()?;
        #[cfg(feature = "tls")]
        if server.is_tls() {
            return server.serve(|addr| println!("listening on https://{addr}"));
        }
        server.serve(|addr| println!("listening on http://{addr}"))
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format_args!("{e}")),
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

/// The CPUs this process may use: affinity and a container's CPU quota count.
fn default_workers() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// `10s`, `500ms`, `1m30s`: Go's syntax, the parser `?wait=` uses too, so
/// one parser reads every duration and one copy of it is in the binary.
fn duration(text: &str) -> Result<Duration, &'static str> {
    go_duration(text)
}

/// A duration above zero: a zero log interval would spin.
fn positive_duration(text: &str) -> Result<Duration, String> {
    match duration(text) {
        Ok(d) if d.is_zero() => Err("must be more than 0".to_owned()),
        other => other.map_err(str::to_owned),
    }
}

fn fail(message: std::fmt::Arguments) -> ExitCode {
    eprintln!("who-server: {message}");
    ExitCode::FAILURE
}
