//! The project's targets, judged on the median of this run's rounds: met,
//! not met, or not measured (null). When the rounds' min–max range holds
//! the threshold the target says so (`straddles`). Reported, never
//! asserted: a miss is a finding.

use benchkit::catalog::host_platform;

use crate::record::{Figure, ImageRecord, Ratio, Report, Target};

/// "Under 900 KB", in the decimal kilobytes `docker image ls` shows.
const WHO_RUST_MAX_BYTES: f64 = 900_000.0;

pub fn targets(records: &[ImageRecord], ratios: &[Ratio], cpus: &[f64]) -> Vec<Target> {
    let record = |tag: &str| records.iter().find(|r| r.tag == tag);
    let ratio = |subject: &str, baseline: &str, measure: &str, cpus: Option<f64>| {
        ratios
            .iter()
            .find(|r| {
                r.subject == subject
                    && r.baseline == baseline
                    && r.measure == measure
                    && r.cpus == cpus
                    && r.path.as_deref().is_none_or(|p| p == "/who")
            })
            .map(|r| &r.times)
    };
    let mut out = Vec::new();

    let size = record("who:rust")
        .and_then(|r| r.size_bytes)
        .map(|s| s as f64);
    out.push(Target {
        name: "who:rust image under 900 KB".to_owned(),
        measured: size.map_or_else(not_measured, |s| format!("{:.0} KB", s / 1000.0)),
        met: size.map(|s| s < WHO_RUST_MAX_BYTES),
        straddles: false,
    });
    out.push(at_least(
        "who:rust ≥ 6x smaller than who:go",
        ratio("who:rust", "who:go", "size_bytes", None),
        6.0,
        "smaller",
    ));
    for &c in cpus {
        let at = format!("at {c} CPU");
        out.push(at_least(
            &format!("who:rust ≥ 1.5x fewer CPU-µs per /who request than who:go, {at}"),
            ratio("who:rust", "who:go", "cpu_us_per_request", Some(c)),
            1.5,
            "fewer CPU-µs per request",
        ));
        out.push(at_least(
            &format!("who:rust ≥ 1.4x who:go's requests/s on /who, {at}"),
            ratio("who:rust", "who:go", "requests_per_s", Some(c)),
            1.4,
            "requests/s",
        ));
    }
    let first = cpus.first().copied();
    out.push(at_least(
        "who:rust idle VmRSS ≥ 4x lower than who:go",
        ratio("who:rust", "who:go", "idle_vmrss_bytes", first),
        4.0,
        "lower",
    ));
    out.push(at_least(
        "who:rust peak VmRSS (VmHWM) ≥ 4x lower than who:go",
        ratio("who:rust", "who:go", "peak_vmhwm_bytes", first),
        4.0,
        "lower",
    ));
    let stop = record("who:rust")
        .and_then(|r| first.and_then(|c| r.at(c)))
        .and_then(|r| r.stop_ms.as_ref());
    out.push(Target {
        name: "who:rust stops in < 0.5 s".to_owned(),
        measured: stop.map_or_else(not_measured, |s| spread(s, 0, " ms")),
        met: stop.map(|s| s.median < 500.0),
        straddles: stop.is_some_and(|s| s.straddles(500.0)),
    });

    // Another platform's image is built for its facts, never timed (it
    // cross-compiles): no rebuild target to judge.
    for r in records.iter().filter(|r| {
        r.language == "rust" && r.multi_stage && Some(r.platform.as_str()) == host_platform()
    }) {
        let share = r.build.as_ref().and_then(|b| {
            let shares: Vec<f64> = b
                .warm_ms
                .rounds
                .iter()
                .zip(&b.cold_ms.rounds)
                .filter(|(_, &cold)| cold > 0.0)
                .map(|(warm, cold)| warm / cold)
                .collect();
            Figure::of(&shares)
        });
        out.push(Target {
            name: format!("{} warm rebuild ≤ 1/4 of cold", r.tag),
            measured: share
                .as_ref()
                .map_or_else(not_measured, |s| format!("warm/cold {}", spread(s, 2, ""))),
            met: share.as_ref().map(|s| s.median <= 0.25),
            straddles: share.as_ref().is_some_and(|s| s.straddles(0.25)),
        });
        if let Some(naive) = records.iter().find(|n| n.tag == format!("{}-naive", r.tag)) {
            out.push(at_least(
                &format!("{} naive/multi-stage size > 1000x", r.tag),
                ratio(&r.tag, &naive.tag, "size_bytes", None),
                1000.0,
                "smaller",
            ));
        }
    }
    out
}

/// Judges an earlier run's figures again by today's rules.
pub fn judge_again(report: &mut Report) {
    report.targets = targets(&report.images, &report.ratios, &report.settings.cpus);
}

/// A ratio that must reach `threshold`, judged on its median.
fn at_least(name: &str, times: Option<&Figure>, threshold: f64, what: &str) -> Target {
    Target {
        name: name.to_owned(),
        measured: times.map_or_else(not_measured, |t| format!("{} {what}", spread(t, 2, "x"))),
        met: times.map(|t| t.median >= threshold),
        straddles: times.is_some_and(|t| t.straddles(threshold)),
    }
}

/// `1.52x (1.48–1.60)`: the median with its unit, and the range when the
/// rounds differ.
pub fn spread(figure: &Figure, decimals: usize, unit: &str) -> String {
    let median = format!("{:.decimals$}{unit}", figure.median);
    if figure.min == figure.max {
        median
    } else {
        format!(
            "{median} ({:.decimals$}–{:.decimals$})",
            figure.min, figure.max
        )
    }
}

fn not_measured() -> String {
    "not measured in this run".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(measure: &str, cpus: Option<f64>, rounds: &[f64]) -> Ratio {
        Ratio {
            kind: "vs_baseline".to_owned(),
            subject: "who:rust".to_owned(),
            baseline: "who:go".to_owned(),
            measure: measure.to_owned(),
            path: cpus.map(|_| "/who".to_owned()),
            cpus,
            times: Figure::of(rounds).unwrap(),
        }
    }

    #[test]
    fn a_target_is_judged_on_the_median_and_says_when_rounds_straddle_it() {
        let ratios = [
            ratio("cpu_us_per_request", Some(1.0), &[1.45, 1.6, 1.55]),
            ratio("cpu_us_per_request", Some(2.0), &[1.2, 1.3, 1.25]),
            ratio("size_bytes", None, &[6.4]),
        ];
        let targets = targets(&[], &ratios, &[1.0, 2.0]);
        let find = |name: &str| targets.iter().find(|t| t.name.starts_with(name)).unwrap();
        let at_1 = find("who:rust ≥ 1.5x fewer CPU-µs per /who request than who:go, at 1 CPU");
        assert_eq!((at_1.met, at_1.straddles), (Some(true), true));
        assert_eq!(at_1.measured, "1.55x (1.45–1.60) fewer CPU-µs per request");
        let at_2 = find("who:rust ≥ 1.5x fewer CPU-µs per /who request than who:go, at 2 CPU");
        assert_eq!((at_2.met, at_2.straddles), (Some(false), false));
        assert_eq!(find("who:rust ≥ 6x smaller").met, Some(true));
        assert_eq!(find("who:rust stops").met, None, "not measured");
    }

    #[test]
    fn only_builds_this_machine_times_have_a_rebuild_target() {
        let rust = |tag: &str, platform: &str| ImageRecord {
            tag: tag.to_owned(),
            language: "rust".to_owned(),
            multi_stage: true,
            platform: platform.to_owned(),
            ..Default::default()
        };
        let native = host_platform().unwrap();
        let other = if native == "linux/amd64" {
            "linux/arm64"
        } else {
            "linux/amd64"
        };
        let records = [rust("who:rust", native), rust("who:rust-other", other)];
        let names: Vec<String> = targets(&records, &[], &[1.0])
            .into_iter()
            .map(|t| t.name)
            .filter(|name| name.contains("warm rebuild"))
            .collect();
        assert_eq!(names, ["who:rust warm rebuild ≤ 1/4 of cold"]);
    }
}
