//! Start time: from create + start to the first 200 answer (servers) or to
//! the exit with the expected output (CLIs). Create is inside the interval:
//! it is part of what `docker run` costs and it scales with the image.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use bollard::Docker;

use super::probe;
use super::tls::TestCertificate;
use crate::docker;
use crate::record::Pinning;

/// A server that has not answered by then counts as failed to start.
const STARTUP_DEADLINE: Duration = Duration::from_secs(15);

/// A server container that answered; the caller stops and removes it.
pub struct Started {
    pub id: String,
    pub pid: u32,
    pub elapsed: Duration,
}

/// With `tls`, the server gets the certificate and is asked over TLS: its
/// start includes loading the certificate and the first handshake.
pub async fn start_server(
    docker: &Docker,
    tag: &str,
    path: &str,
    pinning: &Pinning,
    tls: Option<&TestCertificate>,
) -> Result<Started> {
    let started = Instant::now();
    let id = docker::create(docker, tag, pinning, tls.map(TestCertificate::dir)).await?;
    let up = async {
        docker::start(docker, &id).await?;
        let pid = docker::host_pid(docker, &id).await?;
        let client = tls.map(TestCertificate::client);
        probe::wait_for_200(pid, path, STARTUP_DEADLINE, client).await?;
        Ok(pid)
    };
    match up.await {
        Ok(pid) => Ok(Started {
            id,
            pid,
            elapsed: started.elapsed(),
        }),
        Err(e) => Err(with_output_and_remove(docker, &id, e).await),
    }
}

pub struct CliRun {
    pub elapsed: Duration,
    pub exit_code: Option<i64>,
    pub first_line: Option<String>,
}

pub async fn run_cli(
    docker: &Docker,
    tag: &str,
    expect: &str,
    pinning: &Pinning,
) -> Result<CliRun> {
    let started = Instant::now();
    let id = docker::create(docker, tag, pinning, None).await?;
    let ran = async {
        docker::start(docker, &id).await?;
        docker::wait_exit(docker, &id).await?;
        let elapsed = started.elapsed();
        let exit_code = docker::exit_code(docker, &id).await?;
        let output = docker::output(docker, &id).await?;
        Ok::<_, anyhow::Error>((elapsed, exit_code, output))
    };
    let (elapsed, exit_code, output) = match ran.await {
        Ok(ran) => ran,
        Err(e) => return Err(with_output_and_remove(docker, &id, e).await),
    };
    docker::remove(docker, &id).await?;
    if exit_code != Some(0) {
        bail!("exited with {exit_code:?}: {}", last_lines(&output));
    }
    if !output.contains(expect) {
        bail!(
            "printed {:?}, expected a line with {expect:?}",
            last_lines(&output)
        );
    }
    Ok(CliRun {
        elapsed,
        exit_code,
        first_line: output.lines().next().map(str::to_owned),
    })
}

/// The error, with what the container printed, once the container is gone.
async fn with_output_and_remove(docker: &Docker, id: &str, error: anyhow::Error) -> anyhow::Error {
    let output = docker::output(docker, id).await.unwrap_or_default();
    let _ = docker::remove(docker, id).await;
    if output.trim().is_empty() {
        error
    } else {
        error.context(format!("the container printed: {}", last_lines(&output)))
    }
}

fn last_lines(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" / ")
}
