//! compare.md: the tables people read, the same numbers as compare.json.
//! Every timing is shown as `median (min–max)` over the rounds.

use std::fmt::Write;

use super::format::{bytes, dash, micros, millis, opt_bytes, per_second, spread, times};
use super::table::{Align::Left, Align::Right, Table};
use crate::record::{name_of, ImageRecord, Report};

pub fn render(report: &Report) -> String {
    let mut md = String::new();
    header(&mut md, report);
    not_reached(&mut md, report);
    contents(&mut md, &report.images);
    running(&mut md, report);
    load(&mut md, report);
    ratios(&mut md, report);
    targets(&mut md, report);
    failures(&mut md, &report.images);
    bases(&mut md, report);
    how(&mut md, report);
    md
}

fn header(md: &mut String, r: &Report) {
    let m = &r.machine;
    let s = &r.settings;
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
    let _ = writeln!(md, "Command: `{}`\n", r.command.join(" "));
    let cpus: Vec<String> = s.cpus.iter().map(f64::to_string).collect();
    let _ = writeln!(
        md,
        "{} rounds of start, memory, load and stop at {} CPU(s), every image once per round \
         (the order reversed every other round); {} round(s) of builds. Each figure is the median \
         over the rounds with its min–max; each ratio is taken within a round, then summarised. \
         {}.\n",
        s.rounds,
        cpus.join(" and "),
        s.build_rounds,
        s.load_generator
    );
}

/// Said first: a report of a run stopped early is missing figures.
fn not_reached(md: &mut String, r: &Report) {
    if r.not_reached.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Not reached\n");
    let _ = writeln!(
        md,
        "The run stopped before it had measured these images in full; their figures, and \
         the ratios and targets that need them, are partial or missing: {}.\n",
        r.not_reached.join(", ")
    );
}

fn contents(md: &mut String, images: &[ImageRecord]) {
    let _ = writeln!(md, "## What is in each image\n");
    let mut table = Table::new(&[
        ("image", Left),
        ("status", Left),
        ("size", Right),
        ("compressed", Right),
        ("layers", Right),
        ("files", Right),
        ("ELF files", Right),
        ("program run", Left),
        ("shell", Left),
        ("user", Left),
        ("packages (syft)", Right),
        ("cold build", Right),
        ("warm rebuild", Right),
    ]);
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
        let build = i.build.as_ref();
        table.row([
            i.tag.clone(),
            name_of(i.status),
            opt_bytes(i.size_bytes.map(|b| b as f64)),
            opt_bytes(i.compressed_size_bytes.map(|b| b as f64)),
            count(i.layer_count),
            count(i.file_count),
            count(i.elf_file_count),
            program,
            i.has_shell
                .map_or_else(dash, |s| if s { "yes" } else { "no" }.to_owned()),
            user,
            count(i.sbom_package_count),
            shared(build, spread(build.map(|b| &b.cold_ms), millis)),
            shared(build, spread(build.map(|b| &b.warm_ms), millis)),
        ]);
    }
    md.push_str(&table.render());
    let mut shared: Vec<(&str, Vec<&str>)> = Vec::new();
    for i in images {
        if let Some(leader) = i.build.as_ref().and_then(|b| b.shared_with.as_deref()) {
            match shared.iter_mut().find(|(l, _)| *l == leader) {
                Some((_, twins)) => twins.push(&i.tag),
                None => shared.push((leader, vec![&i.tag])),
            }
        }
    }
    let reused: Vec<String> = images
        .iter()
        .filter(|i| !i.reused.is_empty())
        .map(|i| {
            let fields: Vec<&str> = i.reused.keys().map(String::as_str).collect();
            format!("{} ({})", i.tag, fields.join(", "))
        })
        .collect();
    if !reused.is_empty() {
        let _ = writeln!(
            md,
            "Taken from compare's cache, measured by an earlier run on the same content (layers \
             by digest, syft by the image's layers; each image's `reused` in compare.json says \
             how; `--fresh` measures all again): {}.\n",
            reused.join("; ")
        );
    }
    for (leader, twins) in shared {
        let _ = writeln!(
            md,
            "Built with {leader}, one build: {} (the same Dockerfile stage, a different command \
             on top), built from its cache, untimed; the build times shown are {leader}'s.\n",
            twins.join(", ")
        );
    }
}

/// A build time cell, marked when it is another image's build, shared.
fn shared(build: Option<&crate::record::BuildTimes>, cell: String) -> String {
    match build.and_then(|b| b.shared_with.as_deref()) {
        Some(leader) => format!("{cell}, {leader}'s"),
        None => cell,
    }
}

fn running(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Start, memory, stop\n");
    let mut table = Table::new(&[
        ("image", Left),
        ("CPUs", Right),
        ("start", Right),
        ("idle VmRSS", Right),
        ("peak VmHWM (load)", Right),
        ("stop", Right),
        ("exit code", Right),
    ]);
    for i in &r.images {
        for run in &i.runs {
            let mem = run.memory.as_ref();
            table.row([
                i.tag.clone(),
                run.cpus.to_string(),
                spread(run.start_ms.as_ref(), millis),
                spread(mem.and_then(|m| m.idle_vmrss_bytes.as_ref()), bytes),
                spread(mem.and_then(|m| m.peak_vmhwm_bytes.as_ref()), bytes),
                spread(run.stop_ms.as_ref(), millis),
                run.exit_code.map_or_else(dash, |c| c.to_string()),
            ]);
        }
    }
    md.push_str(&table.render());
}

fn load(md: &mut String, r: &Report) {
    if r.images
        .iter()
        .all(|i| i.runs.iter().all(|run| run.loads.is_empty()))
    {
        return;
    }
    let _ = writeln!(md, "## Under load\n");
    let _ = writeln!(md, "{}.\n", r.settings.load_generator);
    // User time is the server's own work, system time the kernel's for it
    // (sockets, epoll): runs before the split was measured show a dash.
    let mut table = Table::new(&[
        ("image", Left),
        ("CPUs", Right),
        ("path", Left),
        ("CPU per request", Right),
        ("user", Right),
        ("system", Right),
        ("requests/s", Right),
        ("p50", Right),
        ("p99", Right),
        ("p99.9", Right),
        ("errors", Right),
    ]);
    for i in &r.images {
        for run in &i.runs {
            for l in &run.loads {
                table.row([
                    i.tag.clone(),
                    run.cpus.to_string(),
                    format!("`{}`", l.path),
                    spread(l.cpu_us_per_request.as_ref(), micros),
                    spread(l.cpu_user_us_per_request.as_ref(), micros),
                    spread(l.cpu_system_us_per_request.as_ref(), micros),
                    spread(Some(&l.requests_per_s), per_second),
                    spread(Some(&l.latency_p50_ms), millis),
                    spread(Some(&l.latency_p99_ms), millis),
                    spread(Some(&l.latency_p99_9_ms), millis),
                    l.errors.total().to_string(),
                ]);
            }
        }
    }
    md.push_str(&table.render());
}

fn ratios(md: &mut String, r: &Report) {
    if r.ratios.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Ratios\n");
    let _ = writeln!(
        md,
        "Each reads \"the subject is N times better\" (> 1: the subject wins): smaller, faster, \
         fewer CPU-µs, more requests/s. Median over the rounds (min–max).\n"
    );
    let mut table = Table::new(&[
        ("subject", Left),
        ("baseline", Left),
        ("measure", Left),
        ("path", Left),
        ("CPUs", Right),
        ("subject is", Right),
    ]);
    for x in &r.ratios {
        table.row([
            x.subject.clone(),
            x.baseline.clone(),
            name_of(x.measure),
            x.path.as_deref().map_or_else(dash, |p| format!("`{p}`")),
            x.cpus.map_or_else(dash, |c| c.to_string()),
            spread(Some(&x.times), times),
        ]);
    }
    md.push_str(&table.render());
}

pub fn targets(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Targets\n");
    let mut table = Table::new(&[
        ("target", Left),
        ("measured (median, min–max)", Left),
        ("verdict (on the median)", Left),
    ]);
    for t in &r.targets {
        let verdict = match (t.met, t.straddles) {
            (Some(true), false) => "met",
            (Some(true), true) => "met, but some rounds miss it",
            (Some(false), false) => "not met",
            (Some(false), true) => "not met, but some rounds meet it",
            (None, _) => "not measured",
        };
        table.row([t.name.as_str(), t.measured.as_str(), verdict]);
    }
    md.push_str(&table.render());
}

fn failures(md: &mut String, images: &[ImageRecord]) {
    let failed: Vec<&ImageRecord> = images.iter().filter(|i| !i.errors.is_empty()).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Failures\n");
    for i in failed {
        for e in &i.errors {
            // One line each: a table cell or list item cannot hold newlines.
            let message = e.message.replace('\n', " / ");
            let _ = writeln!(md, "- **{}** ({}): {message}", i.tag, name_of(e.phase));
        }
    }
    md.push('\n');
}

fn bases(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Base images\n");
    let mut table = Table::new(&[
        ("image", Left),
        ("built from (toolchain the base declares)", Left),
    ]);
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
        table.row([i.tag.clone(), bases]);
    }
    md.push_str(&table.render());
    let _ = writeln!(
        md,
        "What each stand-in base is: results/bases.txt (scripts/stand-ins.sh).\n"
    );
}

fn how(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## How this was measured\n");
    let _ = writeln!(
        md,
        "Every number's method is in compare/README.md (\"How it measures\"). This run: {} \
         rounds at {:?} CPU(s), {} MiB per container, `{} -t{} -c{} -d{}s` against {}; {} \
         build round(s) through scripts/build-images.sh; `docker stop` timeout {} s.",
        r.settings.rounds,
        r.settings.cpus,
        r.settings.container_memory_bytes / (1024 * 1024),
        r.settings.load_tool,
        r.settings.load_threads,
        r.settings.load_connections,
        r.settings.load_duration_s,
        r.settings.load_target,
        r.settings.build_rounds,
        r.settings.stop_timeout_s,
    );
    if !r.settings.pinning.is_empty() {
        let _ = writeln!(
            md,
            "\nCores: {}. Per load, compare.json's `contention` has each round's steal time, \
             idle time and rescheduling IPIs, the container's throttled CFS periods, and the \
             server threads' moves between cores and switches: what else had the CPUs in a \
             round that stands out.",
            r.settings.load_generator
        );
    }
    if !r.phases.is_empty() {
        let phases: Vec<String> = r
            .phases
            .iter()
            .map(|p| {
                let wall = std::time::Duration::from_secs_f64(p.wall_ms / 1000.0);
                let wall = std::time::Duration::from_secs(wall.as_secs());
                format!("{} {}", p.phase, humantime::format_duration(wall))
            })
            .collect();
        let _ = writeln!(
            md,
            "\nWall time of each phase of this run: {} (set-up and compiling compare, before \
             it, not included).",
            phases.join(", ")
        );
    }
}

fn count(value: Option<usize>) -> String {
    value.map_or_else(dash, |v| v.to_string())
}
