//! What `results/compare.json` holds. Every field carries its unit in its
//! name; a measurement that could not be taken is `null`, and the reason is
//! in the image's `errors`. Every timing is a [`Figure`]: one value per
//! round, with its median and min–max. compare/README.md lists the fields.
//! It reads back too: `--from-json` renders an earlier run's report again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::stats::Figure;
use benchkit::catalog::CatalogImage;
pub use benchkit::catalog::Kind;

/// The whole report: one run of `compare`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Bumped when a field changes meaning or goes away.
    pub schema_version: u32,
    /// When the run started, RFC 3339 UTC.
    pub date: String,
    /// The command line the report came from.
    pub command: Vec<String>,
    pub machine: Machine,
    pub docker: DockerInfo,
    pub settings: Settings,
    pub images: Vec<ImageRecord>,
    pub ratios: Vec<Ratio>,
    pub targets: Vec<Target>,
    /// Images whose measuring had not all run when this report was written
    /// (written after every step, it outlives a run stopped early); absent
    /// when the run was complete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_reached: Vec<String>,
    /// The wall time of each phase of the run, in the order they ran, so
    /// that the slow one shows; absent from runs before they were timed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseTime>,
}

/// One phase of a run and how long it took, start to end.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseTime {
    /// `bases`, `builds`, `facts, other-platform builds beside them`,
    /// `rounds`.
    pub phase: String,
    pub wall_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: Option<String>,
    pub cpu_cores: usize,
    pub memory_bytes: Option<u64>,
    pub kernel: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DockerInfo {
    pub server_version: Option<String>,
    /// The API version the client settled on with the engine.
    pub api_version: String,
    pub cgroup_version: Option<String>,
    pub storage_driver: Option<String>,
}

/// How the numbers were taken, so two reports can be told apart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Rounds of start, memory, load and stop: every image once per round.
    pub rounds: u32,
    /// Rounds of cold and warm builds; 0 when the run built nothing.
    pub build_rounds: u32,
    /// The CPU limits every image runs under, one container per setting and round.
    pub cpus: Vec<f64>,
    pub container_memory_bytes: i64,
    pub load_tool: String,
    pub load_threads: u32,
    pub load_connections: u32,
    pub load_duration_s: f64,
    /// Where the load went: 127.0.0.1:8080 inside the container's network
    /// namespace (nsenter), not through a published port.
    pub load_target: String,
    /// wrk runs on the same machine as the server, outside its CPU limit.
    pub load_generator: String,
    pub stop_timeout_s: i64,
    /// Per CPU setting, in the order of `cpus`: the cores the containers
    /// and wrk were given. Absent from runs before the harness pinned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinning: Vec<Pinning>,
}

/// Where a CPU setting's containers and wrk run, and what limits the
/// containers: cores of their own when the setting leaves one for wrk
/// (and wrk the others), else both on every core under a quota.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pinning {
    pub cpus: f64,
    /// The containers' cpuset (`--cpuset-cpus`, e.g. `0`); null: every core.
    pub container_cpus: Option<String>,
    /// The containers' CFS quota in CPUs (`--cpus`, HostConfig NanoCpus);
    /// null when their cpuset is the limit (a whole number of cores).
    pub container_quota_cpus: Option<f64>,
    /// wrk's cores (`taskset -c`, e.g. `1`); null: every core.
    pub wrk_cpus: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageRecord {
    /// `PROGRAM:VARIANT` as docker/images.tsv lists it, e.g. `who:rust`.
    pub tag: String,
    /// The tag measured: `tag` behind the run's `--tag-prefix`, if any.
    pub image: String,
    /// `who`, `web`, `hello`, `simple-script`.
    pub program: String,
    /// `rust`, `go-naive`, ...
    pub variant: String,
    /// `rust`, `go` or `python`.
    pub language: String,
    pub multi_stage: bool,
    /// `server` (answers HTTP on 8080) or `cli` (runs and exits).
    pub kind: Kind,
    /// `ok`, or `failed` when any measurement failed (see `errors`).
    pub status: Status,
    pub errors: Vec<PhaseError>,
    pub image_id: Option<String>,
    /// The image's size as Docker reports it (`docker image inspect .Size`).
    pub size_bytes: Option<i64>,
    /// What a registry would transfer: every layer tar of `docker save`
    /// gzip-compressed on its own, summed.
    pub compressed_size_bytes: Option<u64>,
    /// Layers of the image's root filesystem (`.RootFS.Layers`).
    pub layer_count: Option<usize>,
    /// Files that are not directories in the final filesystem (whiteouts applied).
    pub file_count: Option<usize>,
    /// Files in the final filesystem that start with the ELF magic.
    pub elf_file_count: Option<usize>,
    /// The program the image runs (Entrypoint, else Cmd), when it is a file in the image.
    pub binary_path: Option<String>,
    pub binary_size_bytes: Option<u64>,
    /// `Config.User`; empty means root.
    pub user: Option<String>,
    /// Whether `/bin/sh` exists in the image.
    pub has_shell: Option<bool>,
    /// Packages `syft docker:IMAGE` lists (Rust crates that `cargo
    /// auditable` embedded, Go modules, OS packages); null without syft.
    #[serde(default)]
    pub sbom_package_count: Option<usize>,
    /// The platform the image is for, `linux/amd64` or `linux/arm64`.
    /// Images of another platform than the machine's are not run (that
    /// would need emulation): only their facts are measured.
    #[serde(default)]
    pub platform: String,
    /// The image's labels (OCI annotations say what it is built from).
    pub labels: BTreeMap<String, String>,
    /// The base images the build used, with the toolchain version their
    /// environment declares (e.g. `GOLANG_VERSION`).
    pub bases: Vec<Base>,
    pub build: Option<BuildTimes>,
    /// Figures of this image not measured by this run but by an earlier
    /// one, on the same content (layers by digest, syft by the image's
    /// layers), from compare's cache: field name → how. Absent when
    /// everything was measured by this run (and in runs before the cache).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reused: BTreeMap<String, String>,
    /// One entry per CPU setting, in the order of `settings.cpus`.
    pub runs: Vec<CpusRun>,
    /// This image's wall time in each step of the run (`builds`, its
    /// followers' cached builds included; `other-platform builds`, `facts`,
    /// `rounds`): what it adds to a run. Absent from runs before it was timed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub phase_wall_ms: BTreeMap<String, f64>,
}

/// Whether every measurement of an image was taken.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    /// A phase failed: see the image's `errors`.
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseError {
    pub phase: Phase,
    pub message: String,
}

/// The part of the work a failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Finding the base images, or the cold, warm or untimed build.
    Build,
    /// `docker image inspect`.
    Inspect,
    /// `docker save`: the layers gzipped, the files listed.
    Export,
    /// syft's package list.
    Sbom,
    /// A round of start, memory, load and stop, or of a command-line run.
    Run,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Base {
    /// The Dockerfile's ARG, e.g. `RUST_IMAGE`.
    pub arg: String,
    /// The image the build used for it (official, or a local stand-in).
    pub image: String,
    /// `*_VERSION=` entries of that image's environment.
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildTimes {
    /// `scripts/build-images.sh` with `BUILD_FLAGS=--no-cache`: base images
    /// present, nothing else cached.
    pub cold_ms: Figure,
    /// The same script on a copy of the tree with one comment line appended
    /// to `warm_changed_file`, under a tag prefix.
    pub warm_ms: Figure,
    pub warm_changed_file: String,
    /// The image whose builds these are, when this image's Dockerfile stage
    /// is the same build as its (the naive Rust images: one `cargo build`
    /// stage, a command each): timed once, by that image, and shared; this
    /// one is built from its cache. Absent when the image's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_with: Option<String>,
    /// The crates the last warm rebuild compiled (cargo's `Compiling`
    /// lines in its log), in order: with cargo-chef, the program's own
    /// crate alone. Absent for builds without cargo, and from earlier runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warm_compiled: Vec<String>,
}

/// Everything measured of one image under one CPU limit, over the rounds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CpusRun {
    /// The container's CPU limit: cores of its own or a quota
    /// (`settings.pinning` says which).
    pub cpus: f64,
    /// Create + start to the first 200 answer (servers) or to the exit with
    /// the expected output (CLIs).
    pub start_ms: Option<Figure>,
    /// Servers: `docker stop` until the engine says the container is down.
    pub stop_ms: Option<Figure>,
    /// The exit code of the last run (after `docker stop` for servers).
    pub exit_code: Option<i64>,
    /// CLIs: the first line the last run printed.
    pub output_first_line: Option<String>,
    pub memory: Option<Memory>,
    /// One entry per path loaded; the first is the image's own path.
    pub loads: Vec<PathLoad>,
}

/// Servers only: the main process's, from `/proc/<host pid>/status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Memory {
    /// VmRSS once it has held still after the first answer (measure/idle.rs;
    /// one second at most).
    pub idle_vmrss_bytes: Option<Figure>,
    /// VmHWM after the image's own path's load: the peak RSS under load.
    pub peak_vmhwm_bytes: Option<Figure>,
}

/// How an image that serves TLS names its loads' `path` (it is loaded over
/// TLS only): `/who over TLS`, kept alive, and `/who over TLS, Connection:
/// close`, a new connection and handshake per request.
pub const OVER_TLS: &str = " over TLS";
pub const CONNECTION_CLOSE: &str = ", Connection: close";

/// wrk against one path, once per round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathLoad {
    /// The path, and for TLS loads how it went ([`OVER_TLS`]).
    pub path: String,
    /// Requests completed in each round.
    pub requests: Vec<u64>,
    pub requests_per_s: Figure,
    /// CPU time charged to the container's cgroup during the load (v1
    /// `cpuacct.usage`, v2 `cpu.stat usage_usec`) divided by `requests`.
    pub cpu_us_per_request: Option<Figure>,
    /// Its user-mode part: the server's own work (v1 `cpuacct.stat user`,
    /// v2 `cpu.stat user_usec`). Absent from runs before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_user_us_per_request: Option<Figure>,
    /// Its kernel-mode part: sockets, epoll, the network stack (v1
    /// `cpuacct.stat system`, v2 `cpu.stat system_usec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_system_us_per_request: Option<Figure>,
    pub latency_p50_ms: Figure,
    pub latency_p90_ms: Figure,
    pub latency_p99_ms: Figure,
    pub latency_p99_9_ms: Figure,
    /// wrk's errors summed over the rounds, by kind; all should be 0.
    pub errors: benchkit::wrk::Errors,
    /// What else had the CPUs during each round's load, to tell an outlier
    /// from the program: absent from runs before it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contention: Option<Contention>,
}

/// Counters read before and after each load, one value per round.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contention {
    /// Steal time over every core (`/proc/stat`, the `cpu` line's 8th
    /// value), in µs: the hypervisor ran another guest while this one's
    /// CPUs had work.
    pub steal_us: Vec<u64>,
    /// Idle time over every core (`/proc/stat`'s `cpu` line, 4th value),
    /// in µs: time neither the server, wrk nor anything else ran.
    pub idle_us: Vec<u64>,
    /// Rescheduling IPIs over every core (`/proc/interrupts`' `RES`): one
    /// core waking a task on another, a VM exit each in a guest.
    pub reschedule_ipis: Vec<u64>,
    /// CFS periods in which the container's quota ran out and its threads
    /// waited (`cpu.stat` `nr_throttled`).
    pub throttled_periods: Vec<u64>,
    /// Moves of the server's threads from one core to another
    /// (`se.nr_migrations` of `/proc/<pid>/task/*/sched`, the threads alive
    /// at the end); 0 on a pinned single core.
    pub server_migrations: Vec<u64>,
    /// Times the server's threads were switched out, waiting for work or
    /// preempted (`nr_switches` of the same files): per request, what
    /// tells a round whose server shared a core with wrk.
    pub server_switches: Vec<u64>,
}

/// `subject` against `baseline` on one measure. The value reads "the
/// subject is N times better": > 1 means the subject wins. Each round's
/// ratio is taken within that round, then summarised.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ratio {
    pub kind: RatioKind,
    pub subject: String,
    pub baseline: String,
    pub measure: Measure,
    /// The path both were loaded on, for load measures.
    pub path: Option<String>,
    /// The CPU limit, for measures of running containers.
    pub cpus: Option<f64>,
    pub times: Figure,
}

/// What a ratio pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatioKind {
    /// The image against an original it rewrites (`baselines`).
    VsBaseline,
    /// A multi-stage image against its single-stage twin (`naive`).
    MultiStageVsNaive,
}

/// What a ratio compares: the record's field of that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    SizeBytes,
    CompressedSizeBytes,
    FileCount,
    StartMs,
    StopMs,
    IdleVmrssBytes,
    PeakVmhwmBytes,
    RequestsPerS,
    CpuUsPerRequest,
    LatencyP99Ms,
    ColdBuildMs,
    WarmBuildMs,
}

/// A unit variant's name in compare.json (`cpu_us_per_request`, `failed`):
/// the serde renames are the one place those names are written.
pub fn name_of<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One of the project's targets, judged on the median of this run's rounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    /// Stable across runs and wordings, e.g. `cpu_vs_go@1`: what tests and
    /// readers look a target up by. (Runs before ids read back with none:
    /// `--from-json` judges their targets again anyway.)
    #[serde(default)]
    pub id: String,
    pub name: String,
    /// What was measured, in words with units.
    pub measured: String,
    /// true/false, or null when an input is missing.
    pub met: Option<bool>,
    /// The rounds' min–max range includes the threshold: the verdict is
    /// the median's, but some rounds disagree with it.
    pub straddles: bool,
}

impl ImageRecord {
    /// A record with nothing measured yet.
    pub fn new(spec: &CatalogImage, image: &str) -> Self {
        Self {
            tag: spec.tag.clone(),
            image: image.to_owned(),
            program: spec.program().to_owned(),
            variant: spec.variant().to_owned(),
            language: spec.language.clone(),
            multi_stage: !spec.is_naive(),
            kind: spec.kind,
            platform: spec.platform().to_owned(),
            ..Default::default()
        }
    }

    /// Notes a failed phase; the record is `failed` from then on.
    pub fn fail(&mut self, phase: Phase, error: &anyhow::Error) {
        self.status = Status::Failed;
        self.errors.push(PhaseError {
            phase,
            message: format!("{error:#}"),
        });
    }

    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// The run under `cpus`, if measured.
    pub fn at(&self, cpus: f64) -> Option<&CpusRun> {
        self.runs.iter().find(|r| r.cpus == cpus)
    }
}
