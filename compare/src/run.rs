//! One run: build (unless told not to), measure every image, then compare.
//! A failure belongs to its image; only an unreachable engine stops the run.

use std::path::Path;

use anyhow::Result;
use bollard::Docker;

use crate::build_times::{cold_and_warm, local_tags};
use crate::buildspec::build_spec;
use crate::catalog::ImageSpec;
use crate::cli::Cli;
use crate::docker::{LIMITS, STOP_TIMEOUT_S};
use crate::measure::{declared_versions, LayerCache, LoadSettings, Measurer};
use crate::progress::Progress;
use crate::record::{Base, ImageRecord, Report, Settings};
use crate::{machine, ratios, targets};

const LOAD: LoadSettings = LoadSettings {
    threads: 2,
    connections: 64,
    duration: std::time::Duration::from_secs(10),
};

pub async fn run(cli: Cli, docker: Docker, progress: Progress) -> Result<Report> {
    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let specs = cli.specs();
    let mut records: Vec<ImageRecord> = specs.iter().map(ImageRecord::new).collect();
    let tags = local_tags(&docker).await?;

    for (spec, record) in specs.iter().zip(&mut records) {
        record.bases = bases(&docker, &cli.context, spec, &tags).await;
    }
    if !cli.skip_build {
        progress.phase("build", specs.len() as u64);
        for (spec, record) in specs.iter().zip(&mut records) {
            let built = match build_spec(&cli.context, spec, &tags) {
                Ok(build) => {
                    cold_and_warm(&docker, &progress, &cli.context, spec, &build, &tags).await
                }
                Err(e) => Err(e),
            };
            match built {
                Ok(times) => {
                    progress.println(&format!(
                        "built {}: cold {:.1} s, warm {:.1} s",
                        spec.tag,
                        times.cold_ms / 1000.0,
                        times.warm_ms / 1000.0
                    ));
                    record.build = Some(times);
                }
                Err(e) => {
                    progress.println(&format!("{}: build failed: {e:#}", spec.tag));
                    record.fail("build", &e);
                }
            }
            progress.image_done();
        }
    }

    let load = LoadSettings {
        duration: cli.duration,
        ..LOAD
    };
    let measurer = Measurer {
        docker: docker.clone(),
        progress: progress.clone(),
        runs: cli.runs,
        load,
        cache: LayerCache::default(),
    };
    progress.phase("measure", specs.len() as u64);
    for (spec, record) in specs.iter().zip(&mut records) {
        // An image whose build failed may be an old one: its numbers would lie.
        if record.build.is_some() || cli.skip_build {
            measurer.measure(spec, record).await;
        }
        progress.println(&format!("measured {}: {}", spec.tag, record.status));
        progress.image_done();
    }

    let ratios = ratios::ratios(&records);
    let targets = targets::targets(&records, &ratios);
    Ok(Report {
        schema_version: 1,
        date,
        command: std::env::args().collect(),
        machine: machine::machine(),
        docker: machine::docker_info(&docker).await,
        host_toolchains: machine::host_toolchains(),
        bases_txt: std::fs::read_to_string(cli.context.join("results/bases.txt")).ok(),
        settings: Settings {
            built: !cli.skip_build,
            start_runs: cli.runs,
            container_cpus: LIMITS.nano_cpus as f64 / 1e9,
            container_memory_bytes: LIMITS.memory_bytes,
            load_tool: "wrk".to_owned(),
            load_threads: load.threads,
            load_connections: load.connections,
            load_duration_s: load.duration.as_secs_f64(),
            load_target: "http://127.0.0.1:8080 inside the container's network namespace (nsenter --net=/proc/<pid>/ns/net)".to_owned(),
            stop_timeout_s: STOP_TIMEOUT_S.into(),
        },
        images: records,
        ratios,
        targets,
    })
}

/// The base images this tag builds from, with their declared toolchain
/// versions; none for tags without a Dockerfile here (test images).
async fn bases(
    docker: &Docker,
    root: &Path,
    spec: &ImageSpec,
    tags: &std::collections::HashSet<String>,
) -> Vec<Base> {
    let Ok(build) = build_spec(root, spec, tags) else {
        return Vec::new();
    };
    let mut bases = Vec::new();
    for (arg, image) in build.bases {
        let versions = declared_versions(docker, &image).await.unwrap_or_default();
        bases.push(Base {
            arg,
            image,
            versions,
        });
    }
    bases
}
