//! The three files a run leaves in the output directory.

mod atomic;
mod chart;
pub mod format;
mod json;
mod markdown;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::record::Report;

/// Writes compare.json, compare.md and compare.svg; returns their paths.
pub fn write_all(report: &Report, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    let files = [
        ("compare.json", json::render(report)?),
        ("compare.md", markdown::render(report)),
        ("compare.svg", chart::render(report)?),
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
