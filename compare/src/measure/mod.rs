//! Measuring one built image: what is in it, then how it runs. Each phase
//! that fails leaves its error in the record and the others still run, so a
//! broken image costs its own numbers, never the report.

mod export;
mod filesystem;
mod image;
mod load;
mod memory;
mod probe;
mod start;
mod stop;

use std::time::Duration;

use bollard::Docker;

pub use export::LayerCache;
pub use image::declared_versions;
pub use load::LoadSettings;

use crate::catalog::{self, ImageSpec, Kind};
use crate::progress::Progress;
use crate::record::{ImageRecord, Load, Memory, StartTimes, Stop};
use crate::stats::{median, ms};

/// How long a server sits after its first answer before "idle" is read:
/// start-up work (allocator warm-up, runtime threads) has settled by then.
const IDLE_SETTLE: Duration = Duration::from_secs(1);

pub struct Measurer {
    pub docker: Docker,
    pub progress: Progress,
    pub runs: u32,
    pub load: LoadSettings,
    pub cache: LayerCache,
}

impl Measurer {
    pub async fn measure(&self, spec: &ImageSpec, record: &mut ImageRecord) {
        let tag = &spec.tag;
        self.progress.step(tag, "inspect");
        let facts = match image::inspect(&self.docker, tag).await {
            Ok(facts) => facts,
            Err(e) => return record.fail("inspect", &e),
        };
        record.image_id = facts.id.clone();
        record.size_bytes = facts.size_bytes;
        record.layer_count = Some(facts.layer_count);
        record.user = Some(facts.user.clone());
        record.labels = facts.labels.clone();

        self.progress.step(tag, "export: gzip layers, list files");
        match export::export(&self.docker, tag, &self.cache).await {
            Ok(export) => {
                let fs = &export.filesystem;
                record.compressed_size_bytes = Some(export.compressed_size_bytes);
                record.file_count = Some(fs.file_count());
                record.elf_file_count = Some(fs.elf_count());
                record.has_shell = Some(fs.resolve("/bin/sh").is_some());
                if let Some((path, size)) = facts
                    .command
                    .first()
                    .and_then(|program| fs.find_program(program, &facts.path_var))
                {
                    record.binary_path = Some(path);
                    record.binary_size_bytes = Some(size);
                }
            }
            Err(e) => record.fail("export", &e),
        }

        match &spec.kind {
            Kind::Server { .. } => self.server(spec, record).await,
            Kind::Cli { expect } => self.cli(spec, expect, record).await,
        }
    }

    async fn cli(&self, spec: &ImageSpec, expect: &str, record: &mut ImageRecord) {
        let mut runs_ms = Vec::new();
        let mut last = None;
        for run in 1..=self.runs {
            self.progress
                .step(&spec.tag, &format!("run {run}/{}", self.runs));
            match start::run_cli(&self.docker, &spec.tag, expect).await {
                Ok(ran) => {
                    runs_ms.push(ms(ran.elapsed));
                    last = Some(ran);
                }
                Err(e) => return record.fail("start", &e),
            }
        }
        record.start = median(&runs_ms).map(|start_ms_median| StartTimes {
            start_ms_median,
            runs_ms,
            exit_code: last.as_ref().and_then(|l| l.exit_code),
            output_first_line: last.and_then(|l| l.first_line),
        });
    }

    async fn server(&self, spec: &ImageSpec, record: &mut ImageRecord) {
        let paths = catalog::load_paths(spec);
        let main_path = paths[0];
        let mut starts_ms = Vec::new();
        let mut stops_ms = Vec::new();
        let mut exit_code = None;
        for run in 1..=self.runs {
            self.progress
                .step(&spec.tag, &format!("start {run}/{}", self.runs));
            let started = match start::start_server(&self.docker, &spec.tag, main_path).await {
                Ok(started) => started,
                Err(e) => {
                    record.fail("start", &e);
                    break;
                }
            };
            starts_ms.push(ms(started.elapsed));
            self.progress
                .step(&spec.tag, &format!("stop {run}/{}", self.runs));
            match stop::stop_timed(&self.docker, &started.id).await {
                Ok((elapsed, code)) => {
                    stops_ms.push(ms(elapsed));
                    exit_code = code;
                }
                Err(e) => record.fail("stop", &e),
            }
        }
        record.start = median(&starts_ms).map(|start_ms_median| StartTimes {
            start_ms_median,
            runs_ms: starts_ms,
            exit_code: None,
            output_first_line: None,
        });
        if record.start.is_some() {
            self.progress.step(&spec.tag, "start for memory and load");
            match start::start_server(&self.docker, &spec.tag, main_path).await {
                Ok(started) => {
                    let (memory, loads) = self.under_load(spec, &started, &paths, record).await;
                    record.memory = Some(memory);
                    record.load = loads;
                    self.progress.step(&spec.tag, "stop after load");
                    match stop::stop_timed(&self.docker, &started.id).await {
                        Ok((elapsed, code)) => {
                            stops_ms.push(ms(elapsed));
                            exit_code = code;
                        }
                        Err(e) => record.fail("stop", &e),
                    }
                }
                Err(e) => record.fail("load", &e),
            }
        }
        record.stop = median(&stops_ms).map(|stop_ms_median| Stop {
            stop_ms_median,
            runs_ms: stops_ms,
            exit_code,
        });
    }

    /// Idle memory, then each path's load; the peak is read right after the
    /// main path's load, so every image's peak comes from the same load.
    async fn under_load(
        &self,
        spec: &ImageSpec,
        started: &start::Started,
        paths: &[&str],
        record: &mut ImageRecord,
    ) -> (Memory, Vec<Load>) {
        let mut memory = Memory::default();
        let cgroup = memory::Cgroup::of(started.pid, &started.id)
            .map_err(|e| record.fail("memory", &e))
            .ok();
        memory.cgroup_version = cgroup.as_ref().map(|c| c.version().to_owned());
        tokio::time::sleep(IDLE_SETTLE).await;
        let (idle, usage) = sample(started.pid, cgroup.as_ref(), Reading::Now, record);
        memory.idle_vmrss_bytes = idle.vmrss_bytes;
        memory.idle_vmhwm_bytes = idle.vmhwm_bytes;
        memory.idle_cgroup_usage_bytes = usage;
        let mut loads = Vec::new();
        for path in paths {
            let what = format!(
                "wrk {path} for {}",
                humantime::format_duration(self.load.duration)
            );
            self.progress.step(&spec.tag, &what);
            match load::run_wrk(started.pid, path, self.load).await {
                Ok(load) => loads.push(load),
                Err(e) => record.fail("load", &e),
            }
            if path == &paths[0] {
                let (peak, usage) = sample(started.pid, cgroup.as_ref(), Reading::Peak, record);
                memory.after_load_vmrss_bytes = peak.vmrss_bytes;
                memory.peak_vmhwm_bytes = peak.vmhwm_bytes;
                memory.peak_cgroup_usage_bytes = usage;
            }
        }
        (memory, loads)
    }
}

#[derive(Clone, Copy)]
enum Reading {
    Now,
    Peak,
}

/// The process's VmRSS/VmHWM and the cgroup's usage now or at its peak;
/// what cannot be read is noted in the record and left out.
fn sample(
    pid: u32,
    cgroup: Option<&memory::Cgroup>,
    reading: Reading,
    record: &mut ImageRecord,
) -> (memory::ProcMemory, Option<u64>) {
    let process = memory::proc_memory(pid)
        .map_err(|e| record.fail("memory", &e))
        .unwrap_or_default();
    let usage = cgroup.and_then(|cgroup| {
        match reading {
            Reading::Now => cgroup.usage_bytes(),
            Reading::Peak => cgroup.peak_bytes(),
        }
        .map_err(|e| record.fail("memory", &e))
        .ok()
    });
    (process, usage)
}
