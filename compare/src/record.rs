//! What `results/compare.json` holds. Every field carries its unit in its
//! name; a measurement that could not be taken is `null`, and the reason is
//! in the image's `errors`. The README lists the fields with their meaning.
//! It reads back too: `--from-json` renders an earlier run's report again.

use serde::{Deserialize, Serialize};

use crate::catalog::ImageSpec;

/// The whole report: one run of `compare`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    /// Bumped when a field changes meaning or goes away.
    pub schema_version: u32,
    /// When the run started, RFC 3339 UTC.
    pub date: String,
    /// The command line the report came from.
    pub command: Vec<String>,
    pub machine: Machine,
    pub docker: DockerInfo,
    /// `rustc --version`, `go version`, `python3 --version` on the host (the
    /// images carry their own toolchains: see each image's `bases`).
    pub host_toolchains: Vec<Toolchain>,
    /// `results/bases.txt` as the image scripts wrote it, when there is one.
    pub bases_txt: Option<String>,
    pub settings: Settings,
    pub images: Vec<ImageRecord>,
    pub ratios: Vec<Ratio>,
    pub targets: Vec<Target>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: Option<String>,
    pub cpu_cores: usize,
    pub memory_bytes: Option<u64>,
    pub kernel: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DockerInfo {
    pub server_version: Option<String>,
    /// The API version the client settled on with the engine.
    pub api_version: String,
    pub cgroup_version: Option<String>,
    pub storage_driver: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Toolchain {
    pub command: String,
    /// First line of its version output, or null when it is not installed.
    pub version: Option<String>,
}

/// How the numbers were taken, so two reports can be told apart.
#[derive(Debug, Serialize, Deserialize)]
pub struct Settings {
    pub built: bool,
    pub start_runs: u32,
    pub container_cpus: f64,
    pub container_memory_bytes: i64,
    pub load_tool: String,
    pub load_threads: u32,
    pub load_connections: u32,
    pub load_duration_s: f64,
    /// Where the load went: 127.0.0.1:8080 inside the container's network
    /// namespace (nsenter), not through a published port.
    pub load_target: String,
    pub stop_timeout_s: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ImageRecord {
    /// `PROGRAM:VARIANT`, e.g. `who:rust`.
    pub tag: String,
    /// `who`, `web`, `hello`, `simple-script`.
    pub program: String,
    /// `rust`, `go-naive`, ...
    pub variant: String,
    /// `rust`, `go` or `python`: the variant without `-naive`.
    pub language: String,
    pub multi_stage: bool,
    /// `server` (answers HTTP on 8080) or `cli` (runs and exits).
    pub kind: String,
    /// `ok`, or `failed` when any measurement failed (see `errors`).
    pub status: String,
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
    /// The image's labels (OCI annotations say what it is built from).
    pub labels: std::collections::BTreeMap<String, String>,
    /// The base images the build used, with the toolchain version their
    /// environment declares (e.g. `GOLANG_VERSION`).
    pub bases: Vec<Base>,
    pub build: Option<BuildTimes>,
    pub start: Option<StartTimes>,
    pub memory: Option<Memory>,
    /// One entry per path loaded; the first is the image's main path.
    pub load: Vec<Load>,
    pub stop: Option<Stop>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PhaseError {
    /// `build`, `inspect`, `export`, `start`, `memory`, `load`, `stop`.
    pub phase: String,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Base {
    /// The Dockerfile's ARG, e.g. `RUST_IMAGE`.
    pub arg: String,
    /// The image the build used for it (official, or a local stand-in).
    pub image: String,
    /// `*_VERSION=` entries of that image's environment.
    pub versions: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BuildTimes {
    /// Every stage built with `nocache`: base images present, nothing else cached.
    pub cold_ms: f64,
    /// Rebuild after appending one comment line to `warm_changed_file`.
    pub warm_ms: f64,
    pub warm_changed_file: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StartTimes {
    /// Median of `runs_ms`.
    pub start_ms_median: f64,
    /// Create + start to the first 200 answer (servers) or to the exit with
    /// the expected output (CLIs), one per run.
    pub runs_ms: Vec<f64>,
    /// CLIs: the exit code of the last run.
    pub exit_code: Option<i64>,
    /// CLIs: the first line the last run printed.
    pub output_first_line: Option<String>,
}

/// Servers only. `vm*` fields are the main process's, from
/// `/proc/<host pid>/status`; `cgroup_*` fields are the whole container's.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Memory {
    /// VmRSS one second after the first answer.
    pub idle_vmrss_bytes: Option<u64>,
    /// VmHWM (peak RSS so far) at the same moment: start-up included.
    pub idle_vmhwm_bytes: Option<u64>,
    /// VmRSS right after the main path's load.
    pub after_load_vmrss_bytes: Option<u64>,
    /// VmHWM after the main path's load: the peak RSS under load.
    pub peak_vmhwm_bytes: Option<u64>,
    /// cgroup v1 `memory.usage_in_bytes` / v2 `memory.current` when idle.
    pub idle_cgroup_usage_bytes: Option<u64>,
    /// cgroup v1 `memory.max_usage_in_bytes` / v2 `memory.peak` after the load.
    pub peak_cgroup_usage_bytes: Option<u64>,
    /// `v1` or `v2`, or null when the cgroup was not found.
    pub cgroup_version: Option<String>,
}

/// One wrk run against one path.
#[derive(Debug, Serialize, Deserialize)]
pub struct Load {
    pub path: String,
    pub requests: u64,
    pub requests_per_s: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    /// Non-2xx/3xx answers plus socket errors: should be 0.
    pub errors: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Stop {
    /// `docker stop` (timeout 10 s) wall time, median over all runs.
    pub stop_ms_median: f64,
    pub runs_ms: Vec<f64>,
    /// The exit code after the stop (the last run's).
    pub exit_code: Option<i64>,
}

/// `subject` against `baseline`. Every `*_times_*` field reads "the subject
/// is N times better": > 1 means the subject wins.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ratio {
    /// `rust_vs_original` or `multi_stage_vs_naive`.
    pub kind: String,
    pub subject: String,
    pub baseline: String,
    /// The paths loaded when the ratio compares servers.
    pub subject_path: Option<String>,
    pub baseline_path: Option<String>,
    pub size_times_smaller: Option<f64>,
    pub compressed_size_times_smaller: Option<f64>,
    pub file_count_times_fewer: Option<f64>,
    pub start_times_faster: Option<f64>,
    pub idle_vmrss_times_lower: Option<f64>,
    pub peak_vmhwm_times_lower: Option<f64>,
    pub requests_per_s_times_higher: Option<f64>,
    pub latency_p99_times_lower: Option<f64>,
    pub cold_build_times_faster: Option<f64>,
}

/// One of the project's targets, judged on this run's numbers.
#[derive(Debug, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    /// What was measured, in words with units.
    pub measured: String,
    /// true/false, or null when an input is missing.
    pub met: Option<bool>,
}

impl ImageRecord {
    /// A record with nothing measured yet.
    pub fn new(spec: &ImageSpec) -> Self {
        Self {
            tag: spec.tag.clone(),
            program: spec.program.clone(),
            variant: spec.variant.clone(),
            language: spec.language().to_owned(),
            multi_stage: !spec.is_naive(),
            kind: if spec.is_server() { "server" } else { "cli" }.to_owned(),
            status: "ok".to_owned(),
            ..Default::default()
        }
    }

    /// Notes a failed phase; the record is `failed` from then on.
    pub fn fail(&mut self, phase: &str, error: &anyhow::Error) {
        self.status = "failed".to_owned();
        self.errors.push(PhaseError {
            phase: phase.to_owned(),
            message: format!("{error:#}"),
        });
    }
}
