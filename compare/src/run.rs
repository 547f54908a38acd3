//! One run: build (unless told not to), then every image once per round and
//! CPU setting, in an order that alternates between rounds so that drift in
//! the machine hits every image alike; then the ratios and targets.
//! A failure belongs to its image; only an unreachable engine stops the run.
//! After every step the report so far goes to `write` (as hyperfine exports
//! after each benchmark), so a run stopped early leaves what it measured,
//! with the images it did not reach.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;

use benchkit::wrk;
use bollard::Docker;

use crate::cli::Cli;
use crate::docker::{MEMORY_BYTES, STOP_TIMEOUT_S};
use crate::measure::{
    declared_versions, pinning, Cache, Measurer, Samples, TestCertificate, CACHE_DIR,
};
use crate::progress::Progress;
use crate::record::{
    Base, BuildTimes, Figure, ImageRecord, Phase, PhaseTime, Pinning, Report, Settings,
};
use crate::stats::ms;
use crate::{build, machine, ratios, targets};
use benchkit::catalog::CatalogImage;

/// Images whose facts are measured side by side (export, gzip, syft).
const FACTS_AT_ONCE: usize = 2;
/// Images of another platform built side by side (untimed), beside the facts.
const OTHER_PLATFORM_BUILDS_AT_ONCE: usize = 2;
/// The phase of the facts, with the other platforms' builds beside them.
const FACTS_PHASE: &str = "facts, other-platform builds beside them";

/// Everything measured so far, and what is still to do.
struct State {
    specs: Vec<CatalogImage>,
    records: Vec<ImageRecord>,
    /// Per image, per CPU setting: the rounds gathered.
    samples: Vec<Vec<Samples>>,
    /// Per image: each build round's cold and warm time, in ms.
    builds: Vec<(Vec<f64>, Vec<f64>)>,
    /// Per image: the image whose build it shares (timed once), if another's.
    shared_build: Vec<Option<String>>,
    /// Per image: the crates its last warm rebuild compiled.
    warm_compiled: Vec<Vec<String>>,
    /// Per image: the planned steps that have not run yet.
    left: Vec<usize>,
    /// The report's header: date, command, machine, engine, settings.
    head: Report,
    /// The phases done so far, with their wall times.
    phases: Vec<PhaseTime>,
}

pub async fn run(
    cli: Cli,
    specs: Vec<CatalogImage>,
    docker: Docker,
    write: impl Fn(&Report),
) -> Report {
    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let cpus = cli.cpu_settings();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Per CPU setting: the cores of its containers and of wrk.
    let pinnings: Vec<Pinning> = cpus.iter().map(|&c| pinning(c, cores)).collect();
    let image = |spec: &CatalogImage| format!("{}{}", cli.tag_prefix, spec.tag);
    let load = wrk::Load {
        threads: 2,
        connections: 64,
        duration: cli.duration,
        timeout: Duration::from_secs(5),
    };
    // Per image: its builds, its facts, its rounds (native images only run).
    let planned: Vec<usize> = specs
        .iter()
        .map(|spec| {
            let builds = match (cli.skip_build, spec.is_native()) {
                (true, _) => 0,
                (false, true) => cli.build_rounds as usize,
                (false, false) => 1,
            };
            let rounds = if spec.is_native() {
                cli.rounds as usize * cpus.len()
            } else {
                0
            };
            builds + 1 + rounds
        })
        .collect();
    let progress = Progress::new(planned.iter().sum());
    let mut state = State {
        records: specs
            .iter()
            .map(|s| ImageRecord::new(s, &image(s)))
            .collect(),
        samples: specs
            .iter()
            .map(|_| cpus.iter().map(|_| Samples::default()).collect())
            .collect(),
        builds: vec![(Vec::new(), Vec::new()); specs.len()],
        shared_build: vec![None; specs.len()],
        warm_compiled: vec![Vec::new(); specs.len()],
        left: planned,
        head: head(&cli, date, &docker, &pinnings, &load).await,
        specs,
        phases: Vec::new(),
    };

    let phase = Instant::now();
    for i in 0..state.specs.len() {
        let bases = bases(
            &docker,
            &cli.context,
            &state.specs[i],
            &mut state.records[i],
        )
        .await;
        state.records[i].bases = bases;
        if !state.records[i].is_ok() {
            progress.skip(std::mem::take(&mut state.left[i]));
        }
    }
    state.phase_done("bases", phase);
    if !cli.skip_build {
        builds(&cli, &mut state, &progress, &write).await;
    }

    let measurer = Measurer {
        docker: docker.clone(),
        progress: progress.clone(),
        load,
        cache: std::sync::Arc::new(Cache::on_disk(
            cli.cache
                .clone()
                .unwrap_or_else(|| cli.context.join(CACHE_DIR)),
            cli.fresh,
        )),
        syft: crate::measure::sbom_version().await,
        tls: test_certificate(&state.specs),
    };
    let phase = Instant::now();
    // An image whose build failed may be an old one: its numbers would lie.
    let native_facts: Vec<_> = (0..state.specs.len())
        .filter(|&i| state.specs[i].is_native() && state.records[i].is_ok())
        .map(|i| {
            let (tag, mut record) = (image(&state.specs[i]), state.records[i].clone());
            let (measurer, progress) = (&measurer, &progress);
            let spec_tag = state.specs[i].tag.clone();
            async move {
                facts(measurer, progress, &spec_tag, &tag, &mut record).await;
                (i, record, 1)
            }
        })
        .collect();
    // FACTS_AT_ONCE images at a time, started in catalog order (a layer
    // two images share is gzipped by the first) and each taken as it ends,
    // into its place in the report: much of an image's facts is waiting
    // (dockerd's tar, syft's start), which the other image's gzip fills.
    // Taken in order instead (`buffered`), a quick image finished beside a
    // long one held its slot until the long one ended: the naive images,
    // 14-17 s each and apart in the catalog, ran one after the other
    // (facts 81 s of the 2026-11-30 second run, for 84 s of images' facts).
    let native_facts = futures_util::stream::iter(native_facts).buffer_unordered(FACTS_AT_ONCE);
    // Beside them, OTHER_PLATFORM_BUILDS_AT_ONCE at a time, each image of
    // another platform: its build, untimed (it cross-compiles), then its
    // facts. Nothing in the facts is a timing, so the builds may share the
    // cores with them. On a bare machine these builds are cold (3 min 4 s
    // one after another on a quiet machine, 2026-11-30), and one at a time
    // they ran on alone for 2.5 minutes after the facts, a core idle in each
    // one's serial steps (fat LTO, linking): 266 s for the phase.
    let other_platforms: Vec<_> = (0..state.specs.len())
        .filter(|&i| !state.specs[i].is_native() && state.records[i].is_ok())
        .map(|i| (i, state.specs[i].clone(), state.records[i].clone()))
        .collect();
    let other_platforms =
        futures_util::stream::iter(other_platforms).map(|(i, spec, mut record)| {
            let (cli, measurer, progress, tag) = (&cli, &measurer, &progress, image(&spec));
            async move {
                let mut steps = 0;
                if !cli.skip_build {
                    progress.begin(&spec.tag, "build (not timed: another platform)");
                    let started = Instant::now();
                    if let Err(e) = build::cached(&cli.context, &spec, &cli.tag_prefix).await {
                        eprintln!("{}: build failed: {e:#}", spec.tag);
                        record.fail(Phase::Build, &e);
                    }
                    add_wall(&mut record, "other-platform builds", started);
                    steps += 1;
                }
                if record.is_ok() {
                    facts(measurer, progress, &spec.tag, &tag, &mut record).await;
                    steps += 1;
                }
                (i, record, steps)
            }
        });
    let other_platforms = other_platforms.buffer_unordered(OTHER_PLATFORM_BUILDS_AT_ONCE);
    let mut measured = futures_util::stream::select(native_facts, other_platforms);
    while let Some((i, record, steps)) = measured.next().await {
        state.records[i] = record;
        for _ in 0..steps {
            state.done(i, &progress);
        }
        write(&state.report());
    }
    state.phase_done(FACTS_PHASE, phase);
    let phase = Instant::now();
    for round in 1..=cli.rounds {
        for (c, pinned) in pinnings.iter().enumerate() {
            let limit = pinned.cpus;
            for i in order(state.specs.len(), round) {
                let spec = &state.specs[i];
                // An arm64 image on an amd64 machine would run emulated:
                // its timings would say nothing of the program.
                if !state.records[i].is_ok() || !spec.is_native() {
                    continue;
                }
                let tag = image(spec);
                progress.begin(&spec.tag, &format!("round {round} at {limit} CPU"));
                let started = Instant::now();
                let samples = &mut state.samples[i][c];
                let measured = if spec.is_server() {
                    measurer
                        .server_round(spec, &tag, pinned)
                        .await
                        .map(|r| samples.add_server(r))
                } else {
                    measurer
                        .cli_round(spec, &tag, pinned)
                        .await
                        .map(|r| samples.add_cli(r))
                };
                if let Err(e) = measured {
                    eprintln!("{tag}: round {round} at {limit} CPU: {e:#}");
                    let e = e.context(format!("round {round}, {limit} CPU"));
                    state.records[i].fail(Phase::Run, &e);
                }
                state.spent(i, "rounds", started);
                state.done(i, &progress);
                write(&state.report());
            }
        }
    }
    state.phase_done("rounds", phase);
    state.report()
}

impl State {
    /// A phase that began at `started` has ended.
    fn phase_done(&mut self, phase: &str, started: Instant) {
        let wall = started.elapsed();
        eprintln!("{phase}: {:.1} s", wall.as_secs_f64());
        self.phases.push(PhaseTime {
            phase: phase.to_owned(),
            wall_ms: ms(wall),
        });
    }

    /// A step of image `i` that began at `started` has ended: its time is
    /// added to the image's in `phase`.
    fn spent(&mut self, i: usize, phase: &str, started: Instant) {
        add_wall(&mut self.records[i], phase, started);
    }

    /// A step of image `i` has run; if the image failed, none of its
    /// other steps will.
    fn done(&mut self, i: usize, progress: &Progress) {
        self.left[i] = self.left[i].saturating_sub(1);
        if !self.records[i].is_ok() {
            progress.skip(std::mem::take(&mut self.left[i]));
        }
    }

    /// The report of what is measured so far: every figure over the rounds
    /// taken, ratios and targets of those.
    fn report(&self) -> Report {
        let cpus = &self.head.settings.cpus;
        let mut records = self.records.clone();
        for (i, record) in records.iter_mut().enumerate() {
            let (cold, warm) = &self.builds[i];
            if let (Some(cold_ms), Some(warm_ms)) = (Figure::of(cold), Figure::of(warm)) {
                let leader = self.shared_build[i].as_deref();
                let leader = leader.and_then(|tag| self.specs.iter().find(|s| s.tag == tag));
                record.build = Some(BuildTimes {
                    cold_ms,
                    warm_ms,
                    warm_changed_file: leader.unwrap_or(&self.specs[i]).source.clone(),
                    shared_with: self.shared_build[i].clone(),
                    warm_compiled: self.warm_compiled[i].clone(),
                });
            }
            if record.is_ok() && self.specs[i].is_native() {
                record.runs = cpus
                    .iter()
                    .zip(&self.samples[i])
                    .map(|(&c, s)| s.summary(c))
                    .collect();
            }
        }
        let ratios = ratios::ratios(&self.specs, &records);
        let targets = targets::targets(&self.specs, &records, &ratios, cpus);
        let not_reached = records
            .iter()
            .zip(&self.left)
            .filter(|(_, &left)| left > 0)
            .map(|(r, _)| r.tag.clone())
            .collect();
        Report {
            images: records,
            ratios,
            targets,
            not_reached,
            phases: self.phases.clone(),
            ..self.head.clone()
        }
    }
}

/// The facts of image `tag` (the catalog's `spec_tag`) into `record`, with
/// their wall time: its own, however much of it overlapped another's.
async fn facts(
    measurer: &Measurer,
    progress: &Progress,
    spec_tag: &str,
    tag: &str,
    record: &mut ImageRecord,
) {
    progress.begin(spec_tag, "facts");
    let started = Instant::now();
    measurer.facts(tag, record).await;
    add_wall(record, "facts", started);
}

/// Adds the wall time since `started` to `record`'s time in `phase`.
fn add_wall(record: &mut ImageRecord, phase: &str, started: Instant) {
    *record.phase_wall_ms.entry(phase.to_owned()).or_default() += ms(started.elapsed());
}

/// The report's header, with no image measured yet.
async fn head(
    cli: &Cli,
    date: String,
    docker: &Docker,
    pinnings: &[Pinning],
    load: &wrk::Load,
) -> Report {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Report {
        schema_version: 2,
        date,
        command: std::env::args().collect(),
        machine: machine::machine(),
        docker: machine::docker_info(docker).await,
        settings: Settings {
            rounds: cli.rounds,
            build_rounds: if cli.skip_build { 0 } else { cli.build_rounds },
            cpus: pinnings.iter().map(|p| p.cpus).collect(),
            container_memory_bytes: MEMORY_BYTES,
            load_tool: "wrk".to_owned(),
            load_threads: load.threads,
            load_connections: load.connections,
            load_duration_s: load.duration.as_secs_f64(),
            load_target: "http://127.0.0.1:8080 inside the container's network namespace (nsenter --net=/proc/<pid>/ns/net)".to_owned(),
            load_generator: crate::measure::where_wrk_runs(pinnings, cores),
            stop_timeout_s: STOP_TIMEOUT_S.into(),
            pinning: pinnings.to_vec(),
        },
        images: Vec::new(),
        ratios: Vec::new(),
        targets: Vec::new(),
        not_reached: Vec::new(),
        phases: Vec::new(),
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
/// Images whose Dockerfile stage is one shared build (the naive Rust
/// images: one `cargo build` stage, a command each) are timed once, by
/// the first of them; the others are built from its cache, untimed, and
/// share its figures, marked `shared_with`. The images of another
/// platform are built later, untimed, beside the facts.
async fn builds(cli: &Cli, state: &mut State, progress: &Progress, write: &impl Fn(&Report)) {
    let phase = Instant::now();
    // Per image: the image that times its build (itself, or its group's first).
    let leader: Vec<usize> = (0..state.specs.len())
        .map(|i| {
            let group = build::shared_stage(&cli.context, &state.specs[i]);
            (0..i)
                .find(|&j| {
                    group.is_some()
                        && state.specs[j].is_native()
                        && build::shared_stage(&cli.context, &state.specs[j]) == group
                })
                .unwrap_or(i)
        })
        .collect();
    for round in 1..=cli.build_rounds {
        for i in order(state.specs.len(), round) {
            if !state.specs[i].is_native() || leader[i] != i || !state.records[i].is_ok() {
                continue;
            }
            let spec = &state.specs[i];
            progress.begin(&spec.tag, &format!("cold build, round {round}"));
            let followers: Vec<usize> = (0..state.specs.len())
                .filter(|&j| j != i && leader[j] == i && state.records[j].is_ok())
                .collect();
            let started = Instant::now();
            let built = async {
                let cold = build::cold(&cli.context, spec, &cli.tag_prefix).await?;
                for &j in &followers {
                    let twin = &state.specs[j];
                    progress.note(
                        &twin.tag,
                        &format!(
                            "build from {}'s cache (not timed: the same stage)",
                            spec.tag
                        ),
                    );
                    build::cached(&cli.context, twin, &cli.tag_prefix)
                        .await
                        .with_context(|| {
                            format!("{}, built from {}'s cache", twin.tag, spec.tag)
                        })?;
                }
                progress.note(&spec.tag, &format!("warm rebuild, round {round}"));
                let warm = build::warm(&cli.context, spec, &cli.tag_prefix, round).await?;
                anyhow::Ok((cold, warm))
            };
            match built.await {
                Ok((cold, warm)) => {
                    eprintln!(
                        "built {}: cold {:.1} s, warm {:.1} s (compiled {})",
                        spec.tag,
                        cold.as_secs_f64(),
                        warm.elapsed.as_secs_f64(),
                        if warm.compiled.is_empty() {
                            "no crate".to_owned()
                        } else {
                            warm.compiled.join(", ")
                        }
                    );
                    for j in std::iter::once(i).chain(followers.iter().copied()) {
                        state.builds[j].0.push(ms(cold));
                        state.builds[j].1.push(ms(warm.elapsed));
                        state.warm_compiled[j] = warm.compiled.clone();
                        if j != i {
                            state.shared_build[j] = Some(spec.tag.clone());
                        }
                    }
                }
                Err(e) => {
                    eprintln!("{}: build failed: {e:#}", spec.tag);
                    for j in std::iter::once(i).chain(followers.iter().copied()) {
                        state.records[j].fail(Phase::Build, &e);
                    }
                }
            }
            // Its followers' cached builds are in its time.
            state.spent(i, "builds", started);
            for j in std::iter::once(i).chain(followers) {
                state.done(j, progress);
            }
            write(&state.report());
        }
    }
    state.phase_done("builds", phase);
}

/// The run's test certificate, when an image it runs serves TLS; a
/// failure to make one is said here, and those images' rounds fail.
fn test_certificate(specs: &[CatalogImage]) -> Option<TestCertificate> {
    if !specs.iter().any(|s| s.serves_tls() && s.is_native()) {
        return None;
    }
    TestCertificate::new()
        .inspect_err(|e| eprintln!("compare: no test certificate for TLS: {e:#}"))
        .ok()
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
