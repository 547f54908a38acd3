//! Ratios between images of the same run: each Rust image against the
//! original it rewrites, and each multi-stage image against its naive build.
//! Every ratio reads "the subject is N times better" (> 1: subject wins).

use crate::catalog::{load_paths, ImageSpec};
use crate::record::{ImageRecord, Load, Ratio};
use crate::stats::round_to;

pub fn ratios(records: &[ImageRecord]) -> Vec<Ratio> {
    let mut out = Vec::new();
    let find = |repo: &str, variant: &str| {
        records
            .iter()
            .find(|r| repo_of(r) == repo && r.variant == variant)
    };
    for subject in records.iter().filter(|r| r.variant == "rust") {
        let repo = repo_of(subject);
        for original in ["go", "python"] {
            if let Some(baseline) = find(repo, original) {
                let path = main_path(subject);
                out.push(ratio("rust_vs_original", subject, baseline, path, path));
            }
        }
        // The Rust server also answers the web demo's `/`: same path, same load.
        if subject.program == "who" {
            let web = format!("{}web", repo.trim_end_matches("who"));
            if let Some(baseline) = find(&web, "go") {
                out.push(ratio(
                    "rust_vs_original",
                    subject,
                    baseline,
                    Some("/"),
                    Some("/"),
                ));
            }
        }
    }
    for subject in records.iter().filter(|r| r.multi_stage) {
        if let Some(baseline) = find(repo_of(subject), &format!("{}-naive", subject.variant)) {
            let path = main_path(subject);
            out.push(ratio("multi_stage_vs_naive", subject, baseline, path, path));
        }
    }
    out
}

/// The path a server is loaded on first; None for CLIs.
fn main_path(record: &ImageRecord) -> Option<&'static str> {
    let spec = ImageSpec::parse(&record.tag).ok()?;
    load_paths(&spec).first().copied()
}

/// `compare-test/hello:rust` → `compare-test/hello`.
fn repo_of(record: &ImageRecord) -> &str {
    record
        .tag
        .rsplit_once(':')
        .map_or(&record.tag, |(repo, _)| repo)
}

fn ratio(
    kind: &str,
    subject: &ImageRecord,
    baseline: &ImageRecord,
    subject_path: Option<&str>,
    baseline_path: Option<&str>,
) -> Ratio {
    let (s_load, b_load) = (
        load_on(subject, subject_path),
        load_on(baseline, baseline_path),
    );
    let memory = |r: &ImageRecord, f: fn(&crate::record::Memory) -> Option<u64>| {
        r.memory.as_ref().and_then(f).map(|v| v as f64)
    };
    let start = |r: &ImageRecord| r.start.as_ref().map(|s| s.start_ms_median);
    let cold = |r: &ImageRecord| r.build.as_ref().map(|b| b.cold_ms);
    Ratio {
        kind: kind.to_owned(),
        subject: subject.tag.clone(),
        baseline: baseline.tag.clone(),
        subject_path: subject_path.map(str::to_owned),
        baseline_path: baseline_path.map(str::to_owned),
        size_times_smaller: times(
            baseline.size_bytes.map(|v| v as f64),
            subject.size_bytes.map(|v| v as f64),
        ),
        compressed_size_times_smaller: times(
            baseline.compressed_size_bytes.map(|v| v as f64),
            subject.compressed_size_bytes.map(|v| v as f64),
        ),
        file_count_times_fewer: times(
            baseline.file_count.map(|v| v as f64),
            subject.file_count.map(|v| v as f64),
        ),
        start_times_faster: times(start(baseline), start(subject)),
        idle_vmrss_times_lower: times(
            memory(baseline, |m| m.idle_vmrss_bytes),
            memory(subject, |m| m.idle_vmrss_bytes),
        ),
        peak_vmhwm_times_lower: times(
            memory(baseline, |m| m.peak_vmhwm_bytes),
            memory(subject, |m| m.peak_vmhwm_bytes),
        ),
        requests_per_s_times_higher: times(
            s_load.map(|l| l.requests_per_s),
            b_load.map(|l| l.requests_per_s),
        ),
        latency_p99_times_lower: times(
            b_load.map(|l| l.latency_p99_ms),
            s_load.map(|l| l.latency_p99_ms),
        ),
        cold_build_times_faster: times(cold(baseline), cold(subject)),
    }
}

fn load_on<'a>(record: &'a ImageRecord, path: Option<&str>) -> Option<&'a Load> {
    record.load.iter().find(|l| Some(l.path.as_str()) == path)
}

/// `a / b`, when both are known and `b` is not zero.
pub fn times(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(round_to(a / b, 4)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Memory;

    fn server(tag: &str, size: i64, rps: &[(&str, f64)]) -> ImageRecord {
        let mut record = ImageRecord::new(&ImageSpec::parse(tag).unwrap());
        record.size_bytes = Some(size);
        record.memory = Some(Memory {
            idle_vmrss_bytes: Some(size as u64),
            ..Default::default()
        });
        record.load = rps
            .iter()
            .map(|(path, rps)| Load {
                path: (*path).to_owned(),
                requests: 1,
                requests_per_s: *rps,
                latency_p50_ms: 1.0,
                latency_p99_ms: 1000.0 / rps,
                errors: 0,
            })
            .collect();
        record
    }

    #[test]
    fn pairs_each_rust_image_with_its_original_on_the_same_path() {
        let records = [
            server("who:rust", 1_000, &[("/who", 60_000.0), ("/", 50_000.0)]),
            server("who:rust-naive", 2_000_000, &[("/who", 60_000.0)]),
            server("who:go", 6_000, &[("/who", 40_000.0)]),
            server("web:go", 5_000, &[("/", 25_000.0)]),
        ];
        let ratios = ratios(&records);
        let pairs: Vec<_> = ratios
            .iter()
            .map(|r| {
                (
                    r.subject.as_str(),
                    r.baseline.as_str(),
                    r.subject_path.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [
                ("who:rust", "who:go", Some("/who")),
                ("who:rust", "web:go", Some("/")),
                ("who:rust", "who:rust-naive", Some("/who")),
            ]
        );
        assert_eq!(ratios[0].size_times_smaller, Some(6.0));
        assert_eq!(ratios[0].requests_per_s_times_higher, Some(1.5));
        assert_eq!(ratios[0].latency_p99_times_lower, Some(1.5));
        assert_eq!(ratios[1].requests_per_s_times_higher, Some(2.0));
        assert_eq!(ratios[2].size_times_smaller, Some(2000.0));
        assert_eq!(ratios[2].idle_vmrss_times_lower, Some(2000.0));
    }

    #[test]
    fn judges_the_targets_on_the_ratios() {
        let records = [
            server("who:rust", 800_000, &[("/who", 60_000.0)]),
            server("who:go", 6_000_000, &[("/who", 40_000.0)]),
        ];
        let ratios = ratios(&records);
        let targets = crate::targets::targets(&records, &ratios);
        let met = |name: &str| {
            targets
                .iter()
                .find(|t| t.name.starts_with(name))
                .unwrap()
                .met
        };
        assert_eq!(met("who:rust image under 900 KB"), Some(true));
        assert_eq!(met("who:rust ≥ 6x smaller"), Some(true));
        assert_eq!(met("who:rust ≥ 1.4x"), Some(true));
        assert_eq!(met("who:rust stops"), None, "not measured");
    }
}
