//! One run: build (unless told not to), then every image once per round and
//! CPU setting, in an order that alternates between rounds so that drift in
//! the machine hits every image alike; then the ratios and targets.
//! A failure belongs to its image; only an unreachable engine stops the run.

use std::path::Path;
use std::time::Duration;

use benchkit::wrk;
use bollard::Docker;

use crate::cli::Cli;
use crate::docker::{MEMORY_BYTES, STOP_TIMEOUT_S};
use crate::measure::{declared_versions, LayerCache, Measurer, Samples};
use crate::progress::Progress;
use crate::record::{Base, BuildTimes, Figure, ImageRecord, Phase, Report, Settings};
use crate::stats::ms;
use crate::{build, machine, ratios, targets};
use benchkit::catalog::CatalogImage;

pub async fn run(cli: Cli, specs: Vec<CatalogImage>, docker: Docker, progress: Progress) -> Report {
    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let cpus = cli.cpu_settings();
    let image = |spec: &CatalogImage| format!("{}{}", cli.tag_prefix, spec.tag);
    let mut records: Vec<ImageRecord> = specs
        .iter()
        .map(|s| ImageRecord::new(s, &image(s)))
        .collect();

    for (spec, record) in specs.iter().zip(&mut records) {
        record.bases = bases(&docker, &cli.context, spec, record).await;
    }
    if !cli.skip_build {
        builds(&cli, &specs, &mut records, &progress).await;
    }

    let measurer = Measurer {
        docker: docker.clone(),
        progress: progress.clone(),
        load: wrk::Load {
            threads: 2,
            connections: 64,
            duration: cli.duration,
            timeout: Duration::from_secs(5),
        },
        cache: LayerCache::default(),
    };
    for (spec, record) in specs.iter().zip(&mut records) {
        // An image whose build failed may be an old one: its numbers would lie.
        if record.is_ok() {
            measurer.facts(&image(spec), record).await;
        }
    }
    let mut samples: Vec<Vec<Samples>> = specs
        .iter()
        .map(|_| cpus.iter().map(|_| Samples::default()).collect())
        .collect();
    for round in 1..=cli.rounds {
        for (c, &limit) in cpus.iter().enumerate() {
            for i in order(specs.len(), round) {
                let (spec, record) = (&specs[i], &mut records[i]);
                // An arm64 image on an amd64 machine would run emulated:
                // its timings would say nothing of the program.
                if record.is_ok() && spec.is_native() {
                    let tag = image(spec);
                    let measured = if spec.is_server() {
                        measurer
                            .server_round(spec, &tag, limit)
                            .await
                            .map(|r| samples[i][c].add_server(r))
                    } else {
                        measurer
                            .cli_round(spec, &tag, limit)
                            .await
                            .map(|r| samples[i][c].add_cli(r))
                    };
                    match measured {
                        Ok(()) => {}
                        Err(e) => {
                            eprintln!("{tag}: round {round} at {limit} CPU: {e:#}");
                            record.fail(
                                Phase::Run,
                                &e.context(format!("round {round}, {limit} CPU")),
                            );
                        }
                    }
                }
            }
        }
    }
    for ((record, per_cpus), spec) in records.iter_mut().zip(&samples).zip(&specs) {
        if record.is_ok() && spec.is_native() {
            record.runs = cpus
                .iter()
                .zip(per_cpus)
                .map(|(&c, s)| s.summary(c))
                .collect();
        }
    }

    let ratios = ratios::ratios(&specs, &records);
    let targets = targets::targets(&specs, &records, &ratios, &cpus);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Report {
        schema_version: 2,
        date,
        command: std::env::args().collect(),
        machine: machine::machine(),
        docker: machine::docker_info(&docker).await,
        settings: Settings {
            rounds: cli.rounds,
            build_rounds: if cli.skip_build { 0 } else { cli.build_rounds },
            cpus,
            container_memory_bytes: MEMORY_BYTES,
            load_tool: "wrk".to_owned(),
            load_threads: measurer.load.threads,
            load_connections: measurer.load.connections,
            load_duration_s: measurer.load.duration.as_secs_f64(),
            load_target: "http://127.0.0.1:8080 inside the container's network namespace (nsenter --net=/proc/<pid>/ns/net)".to_owned(),
            load_generator: format!(
                "wrk runs on the same {cores}-core machine as the server, outside the container's CPU limit: \
                 at {cores} CPUs the server and wrk compete for the same cores"
            ),
            stop_timeout_s: STOP_TIMEOUT_S.into(),
        },
        images: records,
        ratios,
        targets,
    }
}

/// Catalog order in odd rounds, reversed in even ones: no image is always
/// measured first, or always right after another.
fn order(n: usize, round: u32) -> Vec<usize> {
    let forward: Vec<usize> = (0..n).collect();
    if round % 2 == 1 {
        forward
    } else {
        forward.into_iter().rev().collect()
    }
}

/// Cold then warm, image after image, in rounds; each time in the script.
async fn builds(
    cli: &Cli,
    specs: &[CatalogImage],
    records: &mut [ImageRecord],
    progress: &Progress,
) {
    let mut times: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); specs.len()];
    for round in 1..=cli.build_rounds {
        for i in order(specs.len(), round) {
            let (spec, record) = (&specs[i], &mut records[i]);
            // Another platform's image is built (from the cache when it can
            // be) for its facts, never timed: its builds cross-compile.
            if record.is_ok() && !spec.is_native() && round == 1 {
                progress.step(&spec.tag, "build (not timed: another platform)");
                if let Err(e) = build::cached(&cli.context, spec, &cli.tag_prefix).await {
                    eprintln!("{}: build failed: {e:#}", spec.tag);
                    record.fail(Phase::Build, &e);
                }
            } else if record.is_ok() && spec.is_native() {
                progress.step(&spec.tag, &format!("cold build, round {round}"));
                let built = async {
                    let cold = build::cold(&cli.context, spec, &cli.tag_prefix).await?;
                    progress.step(&spec.tag, &format!("warm rebuild, round {round}"));
                    let warm = build::warm(&cli.context, spec, &cli.tag_prefix, round).await?;
                    anyhow::Ok((cold, warm))
                };
                match built.await {
                    Ok((cold, warm)) => {
                        eprintln!(
                            "built {}: cold {:.1} s, warm {:.1} s",
                            spec.tag,
                            cold.as_secs_f64(),
                            warm.as_secs_f64()
                        );
                        times[i].0.push(ms(cold));
                        times[i].1.push(ms(warm));
                    }
                    Err(e) => {
                        eprintln!("{}: build failed: {e:#}", spec.tag);
                        record.fail(Phase::Build, &e);
                    }
                }
            }
        }
    }
    for ((spec, record), (cold, warm)) in specs.iter().zip(records).zip(times) {
        if let (Some(cold_ms), Some(warm_ms)) = (Figure::of(&cold), Figure::of(&warm)) {
            record.build = Some(BuildTimes {
                cold_ms,
                warm_ms,
                warm_changed_file: spec.source.clone(),
            });
        }
    }
}

/// The base images this tag builds from, as the build script picks them,
/// with the toolchain versions they declare.
async fn bases(
    docker: &Docker,
    root: &Path,
    spec: &CatalogImage,
    record: &mut ImageRecord,
) -> Vec<Base> {
    let pairs = match build::bases(root, &spec.tag).await {
        Ok(pairs) => pairs,
        Err(e) => {
            record.fail(Phase::Build, &e);
            return Vec::new();
        }
    };
    let mut bases = Vec::new();
    for (arg, image) in pairs {
        let versions = declared_versions(docker, &image).await.unwrap_or_default();
        bases.push(Base {
            arg,
            image,
            versions,
        });
    }
    bases
}

#[cfg(test)]
mod tests {
    use super::order;

    #[test]
    fn rounds_alternate_the_order() {
        assert_eq!(order(3, 1), [0, 1, 2]);
        assert_eq!(order(3, 2), [2, 1, 0]);
        assert_eq!(order(3, 3), [0, 1, 2]);
    }
}
