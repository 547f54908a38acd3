//! The files a run leaves in the output directory: compare.json first, and
//! everything else rendered from the same report (so `--from-json` can
//! render them again): compare.md, the charts, the README's table.

mod atomic;
mod chart;
pub mod format;
mod json;
mod markdown;
mod readme;
mod table;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::record::{CpusRun, Figure, ImageRecord, PathLoad, Report};
use chart::{Bar, Chart};

/// Writes compare.json, compare.md and the four charts; returns their paths.
pub fn write_all(report: &Report, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    let files = [
        ("compare.json", json::render(report)?),
        ("compare.md", markdown::render(report)),
        ("compare.svg", size_chart(report)?),
        ("compare-memory.svg", memory_chart(report)?),
        ("compare-cpu.svg", cpu_chart(report)?),
        ("compare-rps.svg", rps_chart(report)?),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        atomic::write(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

pub use markdown::render as markdown;
pub use readme::update as update_readme;

fn size_chart(report: &Report) -> Result<String> {
    let bars: Vec<Bar> = report
        .images
        .iter()
        .filter_map(|i| {
            i.size_bytes.map(|size| Bar {
                label: i.tag.clone(),
                image: i,
                value: size as f64,
                range: None,
                part: None,
            })
        })
        .collect();
    Chart {
        title: "Image size (log scale): Rust vs original, multi-stage vs naive",
        x_desc: "bytes as Docker reports them (docker image inspect .Size)",
        log: true,
        format: format::bytes,
        part: None,
    }
    .render(&bars)
}

/// Idle and peak resident memory of the servers, at the first CPU setting.
fn memory_chart(report: &Report) -> Result<String> {
    let cpus = report.settings.cpus.first().copied().unwrap_or(1.0);
    let mut bars = Vec::new();
    for image in &report.images {
        let Some(memory) = image.at(cpus).and_then(|r| r.memory.as_ref()) else {
            continue;
        };
        for (what, figure) in [
            ("idle", &memory.idle_vmrss_bytes),
            ("peak", &memory.peak_vmhwm_bytes),
        ] {
            if let Some(figure) = figure {
                bars.push(Bar::of(format!("{} {what}", image.tag), image, figure));
            }
        }
    }
    Chart {
        title: "Server memory (log scale): idle VmRSS, peak VmHWM under load",
        x_desc: &format!("bytes resident, main process, at {cpus} CPU"),
        log: true,
        format: format::bytes,
        part: None,
    }
    .render(&bars)
}

/// CPU per request, its user part dark inside each bar (where measured):
/// the server's own work, apart from the kernel's share for it.
fn cpu_chart(report: &Report) -> Result<String> {
    let bars: Vec<Bar> = loads(report)
        .filter_map(|(image, run, load)| {
            let mut bar = Bar::of(
                label(image, run, load),
                image,
                load.cpu_us_per_request.as_ref()?,
            );
            bar.part = load.cpu_user_us_per_request.as_ref().map(|u| u.median);
            Some(bar)
        })
        .collect();
    let split = bars.iter().any(|b| b.part.is_some());
    Chart {
        title: "CPU time per request (lower is better)",
        x_desc: "µs of CPU charged to the container's cgroup per request",
        log: false,
        format: format::micros,
        part: split.then_some("dark: user time (the rest: system)"),
    }
    .render(&bars)
}

fn rps_chart(report: &Report) -> Result<String> {
    let bars = load_bars(report, |l| Some(&l.requests_per_s));
    Chart {
        title: "Requests per second (higher is better; wrk shares the machine)",
        x_desc: "requests/s, wrk -t2 -c64",
        log: false,
        format: format::per_second,
        part: None,
    }
    .render(&bars)
}

/// Every server's loads with their image and run, in the charts' order.
fn loads(report: &Report) -> impl Iterator<Item = (&ImageRecord, &CpusRun, &PathLoad)> {
    report.images.iter().flat_map(|image| {
        image
            .runs
            .iter()
            .flat_map(move |run| run.loads.iter().map(move |load| (image, run, load)))
    })
}

/// One bar per server, path and CPU setting that has the value.
fn load_bars<'a>(report: &'a Report, value: fn(&PathLoad) -> Option<&Figure>) -> Vec<Bar<'a>> {
    loads(report)
        .filter_map(|(image, run, load)| {
            Some(Bar::of(label(image, run, load), image, value(load)?))
        })
        .collect()
}

/// `who:rust /who · 1 CPU`
fn label(image: &ImageRecord, run: &CpusRun, load: &PathLoad) -> String {
    format!("{} {} · {} CPU", image.tag, load.path, run.cpus)
}
