//! Ratios between images of the same run: each Rust image against the
//! original it rewrites, and each multi-stage image against its naive build.
//! Every ratio reads "the subject is N times better" (> 1: subject wins).

use crate::catalog::{load_paths, ImageSpec};
use crate::record::{ImageRecord, Load, Ratio};

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
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}
