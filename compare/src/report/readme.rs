//! The README's results table, rendered from the report and written
//! between two markers, so the README never carries hand-copied numbers.

use std::fmt::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::atomic;
use super::format::{bytes, micros, millis, opt_bytes, per_second, spread};
use super::table::{Align::Left, Align::Right, Table};
use crate::record::{CpusRun, PathLoad, Report, OVER_TLS};

pub const BEGIN: &str =
    "<!-- compare:begin (generated from results/compare.json by `make compare`; do not edit) -->";
pub const END: &str = "<!-- compare:end -->";

/// The summary: one row per image, then the targets.
pub fn summary(report: &Report) -> String {
    let s = &report.settings;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Measured {} on {} cores; {} rounds, median (min–max). Load columns are the image's own \
         path (`/who`, or `/` for web); CPU per request is the CPU time charged to the container \
         per request; wrk shares the machine.\n",
        report.date, report.machine.cpu_cores, s.rounds
    );
    let mut columns = vec![
        ("image".to_owned(), Left),
        ("size".to_owned(), Right),
        ("compressed".to_owned(), Right),
        ("start".to_owned(), Right),
        ("idle VmRSS".to_owned(), Right),
        ("peak VmHWM".to_owned(), Right),
    ];
    for c in &s.cpus {
        columns.push((format!("CPU/request, {c} CPU"), Right));
        columns.push((format!("requests/s, {c} CPU"), Right));
    }
    let mut table = Table::new(&columns);
    for i in &report.images {
        let first = s.cpus.first().and_then(|&c| i.at(c));
        let memory = first.and_then(|r| r.memory.as_ref());
        let mut cells = vec![
            i.tag.clone(),
            opt_bytes(i.size_bytes.map(|b| b as f64)),
            opt_bytes(i.compressed_size_bytes.map(|b| b as f64)),
            spread(first.and_then(|r| r.start_ms.as_ref()), millis),
            spread(memory.and_then(|m| m.idle_vmrss_bytes.as_ref()), bytes),
            spread(memory.and_then(|m| m.peak_vmhwm_bytes.as_ref()), bytes),
        ];
        for &c in &s.cpus {
            let load = i.at(c).and_then(|r| r.loads.first());
            cells.push(cpu_per_request(load));
            cells.push(spread(load.map(|l| &l.requests_per_s), per_second));
        }
        table.row(cells);
    }
    md.push_str(&table.render());
    tls(&mut md, report);
    super::markdown::targets(&mut md, report);
    md
}

/// The loads over TLS, each beside the plain HTTP of its image without TLS
/// (who:rust-tls's beside who:rust's): what TLS costs per request kept
/// alive, and per request with a handshake each. Nothing when none ran.
fn tls(md: &mut String, report: &Report) {
    let s = &report.settings;
    let mut rows = Vec::new();
    for image in &report.images {
        let over_tls = |run: &CpusRun| run.loads.iter().any(|l| l.path.contains(OVER_TLS));
        if !image.runs.iter().any(over_tls) {
            continue;
        }
        let plain = image.tag.strip_suffix("-tls");
        let plain = plain.and_then(|tag| report.images.iter().find(|i| i.tag == tag));
        if let Some(plain) = plain {
            rows.push((plain, 0));
        }
        let paths = image.runs.first().map_or(0, |run| run.loads.len());
        rows.extend((0..paths).map(|index| (image, index)));
    }
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "Over TLS (a self-signed ECDSA P-256 certificate made for the run; wrk's OpenSSL, \
         HTTP/1.1): kept alive, and with `Connection: close`, a new connection and a full \
         handshake per request; the plain HTTP of the same server beside them.\n"
    );
    let mut columns = vec![("load".to_owned(), Left)];
    for c in &s.cpus {
        columns.push((format!("CPU/request, {c} CPU"), Right));
        columns.push((format!("requests/s, {c} CPU"), Right));
    }
    let mut table = Table::new(&columns);
    for (image, index) in rows {
        let at = |c: f64| image.at(c).and_then(|run| run.loads.get(index));
        let first = s.cpus.first().and_then(|&c| at(c));
        let path = first.map_or("–", |l| l.path.as_str());
        let mut cells = vec![format!("{} `{path}`", image.tag)];
        for &c in &s.cpus {
            cells.push(cpu_per_request(at(c)));
            cells.push(spread(at(c).map(|l| &l.requests_per_s), per_second));
        }
        table.row(cells);
    }
    md.push_str(&table.render());
}

/// CPU time per request, with its user and system parts when measured:
/// `8.9 µs (8.7 µs–9.3 µs), user 2.3 µs + system 6.6 µs` (medians).
fn cpu_per_request(load: Option<&PathLoad>) -> String {
    let total = spread(load.and_then(|l| l.cpu_us_per_request.as_ref()), micros);
    match load.and_then(|l| {
        Some((
            l.cpu_user_us_per_request.as_ref()?,
            l.cpu_system_us_per_request.as_ref()?,
        ))
    }) {
        Some((user, system)) => format!(
            "{total}, user {} + system {}",
            micros(user.median),
            micros(system.median)
        ),
        None => total,
    }
}

/// Replaces what is between the markers of `path` with the summary.
pub fn update(report: &Report, path: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let updated =
        replace_block(&text, &summary(report)).with_context(|| format!("{}", path.display()))?;
    atomic::write(path, updated.as_bytes())
}

/// `text` with the block between the markers replaced by `block`.
pub fn replace_block(text: &str, block: &str) -> Result<String> {
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        bail!("no {BEGIN} … {END} markers");
    };
    if end < begin {
        bail!("the compare markers are in the wrong order");
    }
    Ok(format!(
        "{}{BEGIN}\n{block}{}",
        &text[..begin],
        &text[end..]
    ))
}

/// What is between the markers now.
#[cfg(test)]
fn current_block(text: &str) -> Option<&str> {
    let begin = text.find(BEGIN)? + BEGIN.len() + 1;
    let end = text.find(END)?;
    text.get(begin..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_block_between_the_markers_changes() {
        let text = format!("intro\n{BEGIN}\nold\n{END}\nrest\n");
        let updated = replace_block(&text, "new\n").unwrap();
        assert_eq!(updated, format!("intro\n{BEGIN}\nnew\n{END}\nrest\n"));
        assert_eq!(current_block(&updated), Some("new\n"));
        assert!(replace_block("no markers", "x").is_err());
    }

    /// who:rust-tls's loads over TLS go in a table of their own, under
    /// who:rust's plain `/who`; a run without them has no such table.
    #[test]
    fn tls_loads_are_shown_beside_the_plain_image() {
        let json = std::fs::read(testkit::root().join("results/compare.json")).unwrap();
        let mut report: Report = serde_json::from_slice(&json).unwrap();
        // The committed run's own TLS image, if it has one, made here instead.
        report.images.retain(|i| !i.tag.starts_with("who:rust-tls"));
        assert!(!summary(&report).contains("Over TLS"));
        let mut tls = report
            .images
            .iter()
            .find(|i| i.tag == "who:rust")
            .unwrap()
            .clone();
        tls.tag = "who:rust-tls".to_owned();
        for run in &mut tls.runs {
            run.loads.truncate(1);
            let mut handshakes = run.loads[0].clone();
            run.loads[0].path = format!("/who{OVER_TLS}");
            handshakes.path = format!("/who{OVER_TLS}, Connection: close");
            run.loads.push(handshakes);
        }
        report.images.push(tls);
        let md = summary(&report);
        let after = &md[md.find("Over TLS").expect("no TLS table")..];
        let table = after.split("\n\n").nth(1).unwrap();
        let rows: Vec<&str> = table
            .lines()
            .filter(|l| l.starts_with("| who:"))
            .map(|l| l.split(" | ").next().unwrap())
            .collect();
        assert_eq!(
            rows,
            [
                "| who:rust `/who`",
                "| who:rust-tls `/who over TLS`",
                "| who:rust-tls `/who over TLS, Connection: close`"
            ]
        );
    }

    /// The README's table is the committed results' summary, not a copy by hand.
    #[test]
    fn the_readme_shows_the_committed_results() {
        let root = testkit::root();
        let json = std::fs::read(root.join("results/compare.json")).unwrap();
        let report: Report = serde_json::from_slice(&json).unwrap();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        assert_eq!(
            current_block(&readme),
            Some(summary(&report).as_str()),
            "README.md's results differ from results/compare.json: run \
             `cargo run -p compare -- --from-json results/compare.json --readme README.md`"
        );
    }
}
