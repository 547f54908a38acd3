//! The engine, through bollard: connecting, and the container life cycle
//! every measurement shares. Every container made here carries [`LABEL`],
//! so that one sweep removes them all, whatever way the run ends.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use benchkit::tls;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::TryStreamExt;

use crate::record::Pinning;

/// On every container `compare` creates, with the creating process's pid as
/// its value: a run removes its own containers, and the leftovers of runs
/// that died, never those of a run still going (a test beside `make compare`).
pub const LABEL: &str = "rust-multi-stage.compare";

/// The same memory limit for every container (`--memory 64m`); the CPU
/// limit is one of the run's settings (`--cpus`).
pub const MEMORY_BYTES: i64 = 64 * 1024 * 1024;

/// `docker stop`'s grace period before SIGKILL.
pub const STOP_TIMEOUT_S: i32 = 10;

pub async fn connect() -> Result<Docker> {
    let docker = Docker::connect_with_local_defaults()
        .context("cannot reach the Docker engine (is it running? `docker info`)")?;
    // The engine here speaks 1.41; bollard defaults to a newer version.
    docker
        .negotiate_version()
        .await
        .context("cannot reach the Docker engine (is it running? `docker info`)")
}

/// Which containers a sweep removes.
#[derive(Debug, Clone, Copy)]
pub enum Sweep {
    /// This process's.
    Own,
    /// Those of `compare` processes that are gone.
    Orphans,
}

/// Removes the labelled containers `which` names, running or not; returns how many.
pub async fn sweep(docker: &Docker, which: Sweep) -> Result<usize> {
    let own = std::process::id().to_string();
    let filter = match which {
        Sweep::Own => format!("{LABEL}={own}"),
        Sweep::Orphans => LABEL.to_owned(),
    };
    let filters = HashMap::from([("label", vec![filter])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let mut removed = 0;
    for container in docker.list_containers(Some(options)).await? {
        let creator = container.labels.as_ref().and_then(|l| l.get(LABEL));
        if matches!(which, Sweep::Orphans) && creator.is_some_and(|pid| is_alive(pid)) {
            continue;
        }
        if let Some(id) = container.id {
            remove(docker, &id).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether `pid` is a `compare` process still running.
fn is_alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "compare")
}

/// Creates (does not start) a labelled container of `image` on the cores
/// `pinning.container_cpus` and under the quota `pinning.container_quota_cpus`
/// (each when given: see measure::pinning), limited to [`MEMORY_BYTES`]; with `tls`, the directory of a
/// test certificate, mounted read-only where the image's variables point
/// (benchkit::tls), so that it serves HTTPS.
pub async fn create(
    docker: &Docker,
    image: &str,
    pinning: &Pinning,
    tls: Option<&Path>,
) -> Result<String> {
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        labels: Some(HashMap::from([(
            LABEL.to_owned(),
            std::process::id().to_string(),
        )])),
        env: tls.map(|_| tls::ENV.map(str::to_owned).to_vec()),
        host_config: Some(HostConfig {
            nano_cpus: pinning
                .container_quota_cpus
                .map(|cpus| (cpus * 1e9).round() as i64),
            cpuset_cpus: pinning.container_cpus.clone(),
            memory: Some(MEMORY_BYTES),
            binds: tls.map(|dir| vec![format!("{}:{}:ro", dir.display(), tls::MOUNT)]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(None, body)
        .await
        .with_context(|| format!("cannot create a container of {image}"))?;
    Ok(created.id)
}

pub async fn start(docker: &Docker, id: &str) -> Result<()> {
    docker
        .start_container(id, None)
        .await
        .context("cannot start the container")
}

/// The container's main process as the host sees it (`.State.Pid`).
pub async fn host_pid(docker: &Docker, id: &str) -> Result<u32> {
    let state = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await?
        .state
        .ok_or_else(|| anyhow!("the engine gave no state for the container"))?;
    match state.pid {
        Some(pid) if pid > 0 => Ok(pid as u32),
        _ => Err(anyhow!(
            "the container is not running (exit code {:?}{})",
            state.exit_code,
            state.error.map(|e| format!(", {e}")).unwrap_or_default()
        )),
    }
}

pub async fn exit_code(docker: &Docker, id: &str) -> Result<Option<i64>> {
    let inspect = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await?;
    Ok(inspect.state.and_then(|s| s.exit_code))
}

/// `docker stop -t 10`.
pub async fn stop(docker: &Docker, id: &str) -> Result<()> {
    let options = StopContainerOptionsBuilder::new().t(STOP_TIMEOUT_S).build();
    docker
        .stop_container(id, Some(options))
        .await
        .context("cannot stop the container")
}

/// Waits until the container has exited; its exit code is not an error here.
pub async fn wait_exit(docker: &Docker, id: &str) -> Result<()> {
    let mut stream = docker.wait_container(id, None);
    loop {
        match stream.try_next().await {
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(()),
            // bollard reports a non-zero exit as an error; the caller reads the code.
            Err(bollard::errors::Error::DockerContainerWaitError { .. }) => return Ok(()),
            Err(e) => return Err(e).context("cannot wait for the container"),
        }
    }
}

/// Everything the container wrote, stdout and stderr interleaved.
pub async fn output(docker: &Docker, id: &str) -> Result<String> {
    let options = LogsOptionsBuilder::new().stdout(true).stderr(true).build();
    let chunks: Vec<_> = docker.logs(id, Some(options)).try_collect().await?;
    Ok(chunks.iter().map(ToString::to_string).collect())
}

pub async fn remove(docker: &Docker, id: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::new().force(true).build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        // Already gone: what we wanted.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        // Going already: the run that made it removes it as it ends, while
        // another run (tests run several at once) sweeps it as an orphan.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message,
        }) if message.contains("already in progress") => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove container {id}")),
    }
}
