//! Ratios between images of the same run, as docker/images.tsv pairs them:
//! each image against the originals it rewrites (`baselines`) and against
//! its naive twin. Every ratio reads "the subject is N times better" (> 1:
//! the subject wins), and is taken round by round, then summarised: a
//! ratio's spread is that of the rounds, not of two independent ranges.

use crate::record::{CpusRun, Figure, ImageRecord, Measure, PathLoad, Ratio, RatioKind};
use crate::stats::round_to;
use benchkit::catalog::CatalogImage;

/// Which way is better for a measure.
#[derive(Clone, Copy)]
enum Better {
    Lower,
    Higher,
}

pub fn ratios(specs: &[CatalogImage], records: &[ImageRecord]) -> Vec<Ratio> {
    let find = |tag: &str| records.iter().find(|r| r.tag == tag);
    let mut out = Vec::new();
    for (spec, subject) in specs.iter().zip(records) {
        let pairs = spec
            .baselines
            .iter()
            .map(|b| (RatioKind::VsBaseline, b))
            .chain(spec.naive.iter().map(|n| (RatioKind::MultiStageVsNaive, n)));
        for (kind, baseline) in pairs {
            if let Some(baseline) = find(baseline) {
                out.extend(pair(kind, subject, baseline));
            }
        }
    }
    out
}

fn pair(kind: RatioKind, s: &ImageRecord, b: &ImageRecord) -> Vec<Ratio> {
    let mut out = Vec::new();
    let mut push =
        |measure: Measure, path: Option<&str>, cpus: Option<f64>, times: Option<Figure>| {
            if let Some(times) = times {
                out.push(Ratio {
                    kind,
                    subject: s.tag.clone(),
                    baseline: b.tag.clone(),
                    measure,
                    path: path.map(str::to_owned),
                    cpus,
                    times,
                });
            }
        };
    let fixed = |value: fn(&ImageRecord) -> Option<f64>| {
        per_round(&[value(s)?], &[value(b)?], Better::Lower)
    };
    push(
        Measure::SizeBytes,
        None,
        None,
        fixed(|r| r.size_bytes.map(|v| v as f64)),
    );
    push(
        Measure::CompressedSizeBytes,
        None,
        None,
        fixed(|r| r.compressed_size_bytes.map(|v| v as f64)),
    );
    push(
        Measure::FileCount,
        None,
        None,
        fixed(|r| r.file_count.map(|v| v as f64)),
    );
    if let (Some(sb), Some(bb)) = (&s.build, &b.build) {
        push(
            Measure::ColdBuildMs,
            None,
            None,
            per_round(&sb.cold_ms.rounds, &bb.cold_ms.rounds, Better::Lower),
        );
        push(
            Measure::WarmBuildMs,
            None,
            None,
            per_round(&sb.warm_ms.rounds, &bb.warm_ms.rounds, Better::Lower),
        );
    }
    for sr in &s.runs {
        let Some(br) = b.at(sr.cpus) else { continue };
        let cpus = Some(sr.cpus);
        let both = |f: fn(&CpusRun) -> Option<&Figure>, better| {
            per_round(&f(sr)?.rounds, &f(br)?.rounds, better)
        };
        push(
            Measure::StartMs,
            None,
            cpus,
            both(|r| r.start_ms.as_ref(), Better::Lower),
        );
        push(
            Measure::StopMs,
            None,
            cpus,
            both(|r| r.stop_ms.as_ref(), Better::Lower),
        );
        push(
            Measure::IdleVmrssBytes,
            None,
            cpus,
            both(
                |r| r.memory.as_ref()?.idle_vmrss_bytes.as_ref(),
                Better::Lower,
            ),
        );
        push(
            Measure::PeakVmhwmBytes,
            None,
            cpus,
            both(
                |r| r.memory.as_ref()?.peak_vmhwm_bytes.as_ref(),
                Better::Lower,
            ),
        );
        for sl in &sr.loads {
            let Some(bl) = br.loads.iter().find(|l| l.path == sl.path) else {
                continue;
            };
            let path = Some(sl.path.as_str());
            let load = |f: fn(&PathLoad) -> Option<&Figure>, better| {
                per_round(&f(sl)?.rounds, &f(bl)?.rounds, better)
            };
            push(
                Measure::RequestsPerS,
                path,
                cpus,
                load(|l| Some(&l.requests_per_s), Better::Higher),
            );
            push(
                Measure::CpuUsPerRequest,
                path,
                cpus,
                load(|l| l.cpu_us_per_request.as_ref(), Better::Lower),
            );
            push(
                Measure::LatencyP99Ms,
                path,
                cpus,
                load(|l| Some(&l.latency_p99_ms), Better::Lower),
            );
        }
    }
    out
}

/// Round i's subject against round i's baseline, for every round both have.
fn per_round(subject: &[f64], baseline: &[f64], better: Better) -> Option<Figure> {
    let ratios: Vec<f64> = subject
        .iter()
        .zip(baseline)
        .filter_map(|(&s, &b)| match better {
            Better::Lower => times(b, s),
            Better::Higher => times(s, b),
        })
        .collect();
    Figure::of(&ratios)
}

/// `a / b` to four decimals, when `b` is not zero.
pub fn times(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| round_to(a / b, 4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Memory, PathLoad};

    /// A server measured in two rounds: per path, requests/s and CPU-µs.
    fn server(tag: &str, size: i64, loads: &[(&str, [f64; 2], [f64; 2])]) -> ImageRecord {
        let catalog = benchkit::catalog::parse(&format!("{tag} x s rust server /x - - m.rs -"));
        let mut record = ImageRecord::new(&catalog.unwrap()[0], tag);
        record.size_bytes = Some(size);
        let f = |values: &[f64]| Figure::of(values).unwrap();
        let idle_vmrss_bytes = Some(f(&[size as f64; 2]));
        let loads = loads.iter().map(|(path, rps, cpu)| PathLoad {
            path: (*path).to_owned(),
            requests: vec![1, 1],
            requests_per_s: f(rps),
            cpu_us_per_request: Some(f(cpu)),
            cpu_user_us_per_request: None,
            cpu_system_us_per_request: None,
            latency_p50_ms: f(&[1.0]),
            latency_p90_ms: f(&[1.0]),
            latency_p99_ms: f(&[1.0]),
            latency_p99_9_ms: f(&[1.0]),
            errors: Default::default(),
            contention: None,
        });
        let memory = Some(Memory {
            idle_vmrss_bytes,
            ..Default::default()
        });
        record.runs = vec![CpusRun {
            cpus: 1.0,
            memory,
            loads: loads.collect(),
            ..Default::default()
        }];
        record
    }

    #[test]
    fn pairs_follow_the_catalog_and_share_only_common_paths() {
        let specs = benchkit::catalog::parse(
            "who:rust x s rust server /who,/ who:rust-naive who:go,web:go m.rs -\n\
             who:rust-naive x s rust server /who,/ - - m.rs -\n\
             who:go x s go server /who - - m.go -\nweb:go x s go server / - - m.go -",
        )
        .unwrap();
        let records = [
            server(
                "who:rust",
                1_000,
                &[
                    ("/who", [60.0, 30.0], [7.0, 8.0]),
                    ("/", [50.0, 50.0], [7.0, 7.0]),
                ],
            ),
            server(
                "who:rust-naive",
                2_000_000,
                &[("/who", [60.0, 60.0], [7.0, 7.0])],
            ),
            server("who:go", 6_000, &[("/who", [40.0, 10.0], [14.0, 12.0])]),
            server("web:go", 5_000, &[("/", [25.0, 25.0], [10.0, 10.0])]),
        ];
        let ratios = ratios(&specs, &records);
        let find = |baseline: &str, measure: Measure| {
            let found = ratios
                .iter()
                .find(|r| r.baseline == baseline && r.measure == measure);
            found.unwrap_or_else(|| panic!("no {measure:?} against {baseline}"))
        };
        assert_eq!(find("who:go", Measure::SizeBytes).times.median, 6.0);
        let rps = find("who:go", Measure::RequestsPerS);
        assert_eq!(rps.path.as_deref(), Some("/who"));
        // Within each round: 60/40 = 1.5, 30/10 = 3; not median/median.
        assert_eq!(rps.times.rounds, [1.5, 3.0]);
        assert_eq!(
            find("who:go", Measure::CpuUsPerRequest).times.rounds,
            [2.0, 1.5]
        );
        assert_eq!(
            find("web:go", Measure::RequestsPerS).path.as_deref(),
            Some("/")
        );
        let naive = find("who:rust-naive", Measure::IdleVmrssBytes);
        assert_eq!(
            (naive.kind, naive.times.median),
            (RatioKind::MultiStageVsNaive, 2000.0)
        );
        assert!(!ratios
            .iter()
            .any(|r| r.baseline == "web:go" && r.path.as_deref() == Some("/who")));
    }
}
