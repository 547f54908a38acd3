//! Stop time: `docker stop` (SIGTERM, SIGKILL after 10 s) until the engine
//! says the container is down, and how the program exited.

use std::time::{Duration, Instant};

use anyhow::Result;
use bollard::Docker;

use crate::docker;

/// Stops and removes the container; returns the stop's wall time and the exit code.
pub async fn stop_timed(docker: &Docker, id: &str) -> Result<(Duration, Option<i64>)> {
    let started = Instant::now();
    let stopped = docker::stop(docker, id).await;
    let elapsed = started.elapsed();
    let exit_code = docker::exit_code(docker, id).await;
    docker::remove(docker, id).await?;
    stopped?;
    Ok((elapsed, exit_code?))
}
