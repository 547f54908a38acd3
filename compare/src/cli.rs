//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::catalog::{ImageSpec, DEFAULT_IMAGES};

/// Builds and measures the Rust images and the originals they rewrite, in
/// one run: size, contents, build times, start, memory, load, stop. Writes
/// compare.json, compare.md and compare.svg to --out.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Images to measure, PROGRAM:VARIANT, comma-separated [default: the 14 of `make images`].
    #[arg(long, value_delimiter = ',', value_name = "TAGS", value_parser = parse_tag)]
    pub images: Vec<ImageSpec>,
    /// Measure the images as they are; without it each is built cold, then warm.
    #[arg(long)]
    pub skip_build: bool,
    /// Start-time runs per image; the report keeps the median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
    /// How long wrk loads each server path (whole seconds).
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Duration,
    /// Directory for compare.json, compare.md, compare.svg.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub out: PathBuf,
    /// Render compare.md and compare.svg again from an earlier run's
    /// compare.json, measuring nothing (after a change to the report).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["images", "skip_build"])]
    pub from_json: Option<PathBuf>,
    /// The build context: the repository root (docker/, .dockerignore).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."), value_name = "DIR")]
    pub context: PathBuf,
}

impl Cli {
    pub fn specs(&self) -> Vec<ImageSpec> {
        if self.images.is_empty() {
            DEFAULT_IMAGES
                .iter()
                .map(|tag| ImageSpec::parse(tag).expect("the default tags are valid"))
                .collect()
        } else {
            self.images.clone()
        }
    }
}

fn parse_tag(tag: &str) -> Result<ImageSpec, String> {
    ImageSpec::parse(tag.trim())
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration < Duration::from_secs(1) || duration.subsec_nanos() != 0 {
        return Err("wrk takes whole seconds, 1s or more".to_owned());
    }
    Ok(duration)
}
