//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Builds and measures the Rust images and the originals they rewrite, in
/// rounds: size, contents, build times, start, memory, CPU per request,
/// load, stop. Writes compare.json, compare.md and the charts to --out.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Images to measure, as docker/images.tsv names them, comma-separated
    /// [default: every image there].
    #[arg(long, value_delimiter = ',', value_name = "TAGS")]
    pub images: Vec<String>,
    /// Build and measure PREFIX + each tag (e.g. `compare-test/`), leaving
    /// the real tags alone.
    #[arg(long, default_value = "", value_name = "PREFIX")]
    pub tag_prefix: String,
    /// Measure the images as they are; without it each is built cold, then warm.
    #[arg(long)]
    pub skip_build: bool,
    /// Rounds of start, memory, load and stop; every image once per round.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub rounds: u32,
    /// Rounds of cold and warm builds (a cold Rust build takes minutes).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub build_rounds: u32,
    /// CPU limits to run every image under, comma-separated
    /// [default: 1 and this machine's cores].
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_cpus)]
    pub cpus: Vec<f64>,
    /// How long wrk loads each server path, per round (whole seconds).
    #[arg(long, default_value = "3s", value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Duration,
    /// Directory for compare.json, compare.md and the charts.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub out: PathBuf,
    /// Also rewrite the results table between the compare markers of this
    /// Markdown file (the README).
    #[arg(long, value_name = "FILE")]
    pub readme: Option<PathBuf>,
    /// Render the report again from an earlier run's compare.json,
    /// measuring nothing (after a change to the report); its targets are
    /// judged again.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["images", "skip_build"])]
    pub from_json: Option<PathBuf>,
    /// Measure everything again: ignore the cache of earlier runs (layers'
    /// compressed sizes and files by digest, syft's counts), and write it anew.
    #[arg(long)]
    pub fresh: bool,
    /// Where facts that depend only on content are kept between runs
    /// [default: CONTEXT/target/compare-cache].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// The repository root: docker/images.tsv, scripts/build-images.sh.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."), value_name = "DIR")]
    pub context: PathBuf,
}

impl Cli {
    /// The CPU settings, in order, each once.
    pub fn cpu_settings(&self) -> Vec<f64> {
        let mut settings = if self.cpus.is_empty() {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            vec![1.0, cores as f64]
        } else {
            self.cpus.clone()
        };
        settings.dedup();
        settings
    }
}

fn parse_cpus(text: &str) -> Result<f64, String> {
    let cpus: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of CPUs"))?;
    if !(0.01..=1024.0).contains(&cpus) {
        return Err(format!("{text}: CPUs are between 0.01 and 1024"));
    }
    Ok(cpus)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration < Duration::from_secs(1) || duration.subsec_nanos() != 0 {
        return Err("wrk takes whole seconds, 1s or more".to_owned());
    }
    Ok(duration)
}
