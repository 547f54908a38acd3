//! The project's targets, judged on this run's numbers: met, not met, or
//! not measured (null). Reported, never asserted: a miss is a finding.

use crate::ratios::times;
use crate::record::{ImageRecord, Ratio, Target};

/// "Under 900 KB", in the decimal kilobytes `docker image ls` shows.
const WHO_RUST_MAX_BYTES: f64 = 900_000.0;

pub fn targets(records: &[ImageRecord], ratios: &[Ratio]) -> Vec<Target> {
    let record = |tag: &str| records.iter().find(|r| r.tag == tag);
    let ratio = |subject: &str, baseline: &str| {
        ratios
            .iter()
            .find(|r| r.subject == subject && r.baseline == baseline)
    };
    let rust = record("who:rust");
    let vs_go = ratio("who:rust", "who:go");
    let mut out = Vec::new();

    let size = rust.and_then(|r| r.size_bytes).map(|s| s as f64);
    out.push(target(
        "who:rust image under 900 KB",
        size.map(|s| format!("{:.0} KB", s / 1000.0)),
        size.map(|s| s < WHO_RUST_MAX_BYTES),
    ));
    let smaller = vs_go.and_then(|r| r.size_times_smaller);
    out.push(target(
        "who:rust ≥ 6x smaller than who:go",
        smaller.map(|x| format!("{x:.1}x smaller")),
        smaller.map(|x| x >= 6.0),
    ));
    for (name, value) in [
        (
            "who:rust idle VmRSS ≥ 4x lower than who:go",
            vs_go.and_then(|r| r.idle_vmrss_times_lower),
        ),
        (
            "who:rust peak VmRSS (VmHWM) ≥ 4x lower than who:go",
            vs_go.and_then(|r| r.peak_vmhwm_times_lower),
        ),
    ] {
        out.push(target(
            name,
            value.map(|x| format!("{x:.1}x lower")),
            value.map(|x| x >= 4.0),
        ));
    }
    let rps = vs_go.and_then(|r| r.requests_per_s_times_higher);
    let p99 = vs_go.and_then(|r| r.latency_p99_times_lower);
    out.push(target(
        "who:rust ≥ 1.4x who:go's requests/s on /who, p99 no worse",
        rps.zip(p99)
            .map(|(rps, p99)| format!("{rps:.2}x requests/s, p99 {p99:.2}x lower")),
        rps.zip(p99).map(|(rps, p99)| rps >= 1.4 && p99 >= 1.0),
    ));
    let stop = rust.and_then(|r| r.stop.as_ref()).map(|s| s.stop_ms_median);
    out.push(target(
        "who:rust stops in < 0.5 s",
        stop.map(|ms| format!("{ms:.0} ms (median)")),
        stop.map(|ms| ms < 500.0),
    ));

    for r in records
        .iter()
        .filter(|r| r.language == "rust" && r.multi_stage)
    {
        let build = r.build.as_ref();
        let share = times(build.map(|b| b.warm_ms), build.map(|b| b.cold_ms));
        out.push(target(
            &format!("{} warm rebuild ≤ 1/4 of cold", r.tag),
            build.map(|b| {
                format!(
                    "warm {:.1} s / cold {:.1} s",
                    b.warm_ms / 1000.0,
                    b.cold_ms / 1000.0
                )
            }),
            share.map(|s| s <= 0.25),
        ));
        let naive = ratio(&r.tag, &format!("{}-naive", r.tag));
        let x = naive.and_then(|n| n.size_times_smaller);
        out.push(target(
            &format!("{} naive/multi-stage size > 1000x", r.tag),
            x.map(|x| format!("{x:.0}x")),
            x.map(|x| x > 1000.0),
        ));
    }
    out
}

fn target(name: &str, measured: Option<String>, met: Option<bool>) -> Target {
    Target {
        name: name.to_owned(),
        measured: measured.unwrap_or_else(|| "not measured in this run".to_owned()),
        met,
    }
}
