//! compare.json: the report as `record.rs` defines it, pretty-printed.

use anyhow::Result;

use crate::record::Report;

pub fn render(report: &Report) -> Result<String> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}
