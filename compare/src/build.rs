//! Builds through the engine's `/build` endpoint (bollard's `build_image`)
//! with the legacy builder, which is what this engine has: the context goes
//! up as a tar, the build's lines come back as a stream we show and time.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use crate::buildspec::BuildSpec;
use crate::progress::Progress;

/// Lines of build output kept to explain a failure.
const TAIL_LINES: usize = 25;

/// Builds `tag` from `context` (a tar) and returns the wall time, from the
/// request to the engine's last line. `what` names the step for the progress.
pub async fn build(
    docker: &Docker,
    progress: &Progress,
    tag: &str,
    spec: &BuildSpec,
    context: Vec<u8>,
    nocache: bool,
    what: &str,
) -> Result<Duration> {
    let build_args: HashMap<&str, &str> = spec
        .build_args
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut options = BuildImageOptionsBuilder::new()
        .dockerfile(&spec.dockerfile)
        .t(tag)
        .buildargs(&build_args)
        .nocache(nocache)
        .rm(true)
        // Intermediate containers go even when a step fails.
        .forcerm(true);
    if let Some(target) = &spec.target {
        options = options.target(target);
    }
    progress.step(tag, what);
    let started = Instant::now();
    let mut stream = docker.build_image(
        options.build(),
        None,
        Some(bollard::body_full(context.into())),
    );
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                for line in info.stream.iter().flat_map(|s| s.lines()) {
                    let line = line.trim_end();
                    if line.starts_with("Step ") {
                        progress.detail(what, line);
                    }
                    if tail.len() == TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line.to_owned());
                }
            }
            Err(e) => {
                let tail: Vec<_> = tail.into_iter().collect();
                return Err(anyhow!("{e}; last lines:\n{}", tail.join("\n")));
            }
        }
    }
    Ok(started.elapsed())
}
