//! compare.md: the tables people read, the same numbers as compare.json.

use std::fmt::Write;

use super::format::{bytes, dash, opt_bytes, opt_millis, times};
use crate::record::{ImageRecord, Report};

pub fn render(report: &Report) -> String {
    let mut md = String::new();
    header(&mut md, report);
    contents(&mut md, &report.images);
    running(&mut md, &report.images);
    load(&mut md, &report.images);
    ratios(&mut md, report);
    targets(&mut md, report);
    failures(&mut md, &report.images);
    bases(&mut md, report);
    how(&mut md, report);
    md
}

fn header(md: &mut String, r: &Report) {
    let m = &r.machine;
    let _ = writeln!(md, "# Image comparison\n");
    let _ = writeln!(
        md,
        "Measured {} on {} ({} cores, {} RAM, kernel {}), Docker Engine {} (API {}, cgroup {}).",
        r.date,
        m.cpu_model.as_deref().unwrap_or("an unknown CPU"),
        m.cpu_cores,
        opt_bytes(m.memory_bytes.map(|b| b as f64)),
        m.kernel.as_deref().unwrap_or("?"),
        r.docker.server_version.as_deref().unwrap_or("?"),
        r.docker.api_version,
        r.docker.cgroup_version.as_deref().unwrap_or("?"),
    );
    let toolchains: Vec<String> = r
        .host_toolchains
        .iter()
        .map(|t| {
            t.version
                .clone()
                .unwrap_or_else(|| format!("{}: not installed", t.command))
        })
        .collect();
    let _ = writeln!(md, "Host toolchains: {}.", toolchains.join("; "));
    let _ = writeln!(md, "Command: `{}`\n", r.command.join(" "));
}

fn contents(md: &mut String, images: &[ImageRecord]) {
    let _ = writeln!(md, "## What is in each image\n");
    let _ = writeln!(
        md,
        "| image | status | size | compressed | layers | files | ELF files | program run | shell | user | cold build | warm rebuild |"
    );
    let _ = writeln!(
        md,
        "|---|---|---:|---:|---:|---:|---:|---|---|---|---:|---:|"
    );
    for i in images {
        let program = match (&i.binary_path, i.binary_size_bytes) {
            (Some(path), Some(size)) => format!("`{path}` {}", bytes(size as f64)),
            _ => dash(),
        };
        let user = match i.user.as_deref() {
            Some("") => "root".to_owned(),
            Some(user) => user.to_owned(),
            None => dash(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i.tag,
            i.status,
            opt_bytes(i.size_bytes.map(|b| b as f64)),
            opt_bytes(i.compressed_size_bytes.map(|b| b as f64)),
            count(i.layer_count),
            count(i.file_count),
            count(i.elf_file_count),
            program,
            i.has_shell
                .map_or_else(dash, |s| if s { "yes" } else { "no" }.to_owned()),
            user,
            opt_millis(i.build.as_ref().map(|b| b.cold_ms)),
            opt_millis(i.build.as_ref().map(|b| b.warm_ms)),
        );
    }
    md.push('\n');
}

fn running(md: &mut String, images: &[ImageRecord]) {
    let _ = writeln!(md, "## Start, memory, stop\n");
    let _ = writeln!(
        md,
        "| image | start (median) | idle VmRSS | idle VmHWM | peak VmHWM (load) | cgroup idle | cgroup peak | stop (median) | exit code |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for i in images {
        let mem = i.memory.as_ref();
        let exit = i
            .stop
            .as_ref()
            .and_then(|s| s.exit_code)
            .or(i.start.as_ref().and_then(|s| s.exit_code));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i.tag,
            opt_millis(i.start.as_ref().map(|s| s.start_ms_median)),
            opt_bytes(mem.and_then(|m| m.idle_vmrss_bytes).map(|b| b as f64)),
            opt_bytes(mem.and_then(|m| m.idle_vmhwm_bytes).map(|b| b as f64)),
            opt_bytes(mem.and_then(|m| m.peak_vmhwm_bytes).map(|b| b as f64)),
            opt_bytes(
                mem.and_then(|m| m.idle_cgroup_usage_bytes)
                    .map(|b| b as f64)
            ),
            opt_bytes(
                mem.and_then(|m| m.peak_cgroup_usage_bytes)
                    .map(|b| b as f64)
            ),
            opt_millis(i.stop.as_ref().map(|s| s.stop_ms_median)),
            exit.map_or_else(dash, |c| c.to_string()),
        );
    }
    md.push('\n');
}

fn load(md: &mut String, images: &[ImageRecord]) {
    if images.iter().all(|i| i.load.is_empty()) {
        return;
    }
    let _ = writeln!(md, "## Under load\n");
    let _ = writeln!(md, "| image | path | requests/s | p50 | p99 | errors |");
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|");
    for i in images {
        for l in &i.load {
            let _ = writeln!(
                md,
                "| {} | `{}` | {:.0} | {:.2} ms | {:.2} ms | {} |",
                i.tag, l.path, l.requests_per_s, l.latency_p50_ms, l.latency_p99_ms, l.errors
            );
        }
    }
    md.push('\n');
}

fn ratios(md: &mut String, r: &Report) {
    if r.ratios.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Ratios (subject is N times better)\n");
    let _ = writeln!(
        md,
        "| subject | baseline | path | size | compressed | files | start | idle VmRSS | peak VmHWM | requests/s | p99 | cold build |"
    );
    let _ = writeln!(
        md,
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for x in &r.ratios {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            x.subject,
            x.baseline,
            x.subject_path
                .as_deref()
                .map_or_else(dash, |p| format!("`{p}`")),
            times(x.size_times_smaller),
            times(x.compressed_size_times_smaller),
            times(x.file_count_times_fewer),
            times(x.start_times_faster),
            times(x.idle_vmrss_times_lower),
            times(x.peak_vmhwm_times_lower),
            times(x.requests_per_s_times_higher),
            times(x.latency_p99_times_lower),
            times(x.cold_build_times_faster),
        );
    }
    md.push('\n');
}

fn targets(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Targets\n");
    let _ = writeln!(md, "| target | measured | met |");
    let _ = writeln!(md, "|---|---|---|");
    for t in &r.targets {
        let met = match t.met {
            Some(true) => "met",
            Some(false) => "**not met**",
            None => "not measured",
        };
        let _ = writeln!(md, "| {} | {} | {} |", t.name, t.measured, met);
    }
    md.push('\n');
}

fn failures(md: &mut String, images: &[ImageRecord]) {
    let failed: Vec<_> = images.iter().filter(|i| !i.errors.is_empty()).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Failures\n");
    for i in failed {
        for e in &i.errors {
            // One line each: a table cell or list item cannot hold newlines.
            let message = e.message.replace('\n', " / ");
            let _ = writeln!(md, "- **{}** ({}): {}", i.tag, e.phase, message);
        }
    }
    md.push('\n');
}

fn bases(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Base images\n");
    let _ = writeln!(md, "| image | built from (toolchain the base declares) |");
    let _ = writeln!(md, "|---|---|");
    for i in &r.images {
        let bases: Vec<String> = i
            .bases
            .iter()
            .map(|b| match b.versions.is_empty() {
                true => format!("`{}`", b.image),
                false => format!("`{}` ({})", b.image, b.versions.join(", ")),
            })
            .collect();
        let bases = if bases.is_empty() {
            dash()
        } else {
            bases.join(", ")
        };
        let _ = writeln!(md, "| {} | {bases} |", i.tag);
    }
    md.push('\n');
    if let Some(text) = &r.bases_txt {
        // results/bases.txt, as the image scripts wrote it.
        let _ = writeln!(md, "results/bases.txt:\n\n```\n{}\n```\n", text.trim_end());
    }
}

fn how(md: &mut String, r: &Report) {
    let s = &r.settings;
    let _ = writeln!(md, "## How this was measured\n");
    let lines = [
        "- size: `docker image inspect .Size`; compressed: each layer tar of `docker save` gzipped (default level) on its own, summed, as a registry transfers it.".to_owned(),
        "- files: non-directory entries of the final filesystem (layers stacked, whiteouts applied); program run: the Entrypoint/Cmd program resolved in that filesystem.".to_owned(),
        format!(
            "- builds: {}cold = every stage with `nocache` (base images present); warm = rebuild after appending one comment line to the program's source, in the build context only.",
            if s.built { "" } else { "not run (`--skip-build`); " }
        ),
        format!(
            "- every container: {} CPU, {} MiB memory (HostConfig NanoCpus/Memory). Start: create + start to the first 200 answer on 127.0.0.1:8080 inside the container's network namespace (servers) or to the exit with the expected output (CLIs), median of {} runs.",
            s.container_cpus,
            s.container_memory_bytes / (1024 * 1024),
            s.start_runs
        ),
        "- memory: VmRSS/VmHWM of the container's main process from /proc/<host pid>/status, idle = 1 s after the first answer, peak = VmHWM after the main path's load; cgroup = the container's memory cgroup usage and peak usage (pages the container touched first; file pages already cached are charged elsewhere).".to_owned(),
        format!(
            "- load: `{} -t{} -c{} -d{}s --latency` against {}, same for every server image.",
            s.load_tool, s.load_threads, s.load_connections, s.load_duration_s, s.load_target
        ),
        format!(
            "- stop: wall time of `docker stop` (timeout {} s) through the API, median over all runs; exit code as the engine reports it.",
            s.stop_timeout_s
        ),
    ];
    for line in lines {
        let _ = writeln!(md, "{line}");
    }
}

fn count(value: Option<usize>) -> String {
    value.map_or_else(dash, |v| v.to_string())
}
