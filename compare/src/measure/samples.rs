//! The rounds of one image under one CPU limit, gathered as they come and
//! summarised into a record once every round is in.

use benchkit::wrk;

use super::{CliRound, ServerRound};
use crate::record::{Contention, CpusRun, Figure, Memory, PathLoad};

#[derive(Debug, Default)]
pub struct Samples {
    start_ms: Vec<f64>,
    stop_ms: Vec<f64>,
    exit_code: Option<i64>,
    first_line: Option<String>,
    idle_vmrss: Vec<f64>,
    peak_vmhwm: Vec<f64>,
    /// Per path, in the order first loaded.
    loads: Vec<(String, PathSamples)>,
}

#[derive(Debug, Default)]
struct PathSamples {
    requests: Vec<u64>,
    requests_per_s: Vec<f64>,
    cpu_us_per_request: Vec<f64>,
    cpu_user_us_per_request: Vec<f64>,
    cpu_system_us_per_request: Vec<f64>,
    p50: Vec<f64>,
    p90: Vec<f64>,
    p99: Vec<f64>,
    p99_9: Vec<f64>,
    errors: wrk::Errors,
    contention: Contention,
}

impl Samples {
    pub fn add_cli(&mut self, round: CliRound) {
        self.start_ms.push(round.start_ms);
        self.exit_code = round.exit_code;
        self.first_line = round.first_line;
    }

    pub fn add_server(&mut self, round: ServerRound) {
        self.start_ms.push(round.start_ms);
        self.stop_ms.extend(round.stop_ms);
        self.exit_code = round.exit_code;
        let bytes = |v: Option<u64>| v.map(|v| v as f64);
        self.idle_vmrss.extend(bytes(round.idle.vm_rss_bytes));
        self.peak_vmhwm.extend(bytes(round.peak.vm_hwm_bytes));
        for (path, sample) in round.loads {
            let index = match self.loads.iter().position(|(p, _)| *p == path) {
                Some(index) => index,
                None => {
                    self.loads.push((path, PathSamples::default()));
                    self.loads.len() - 1
                }
            };
            let into = &mut self.loads[index].1;
            let report = &sample.report;
            let ms = |us: u64| us as f64 / 1000.0;
            into.requests.push(report.requests);
            into.requests_per_s.push(report.requests_per_s());
            if let Some(cpu) = sample.cpu_us_per_request {
                into.cpu_us_per_request.push(cpu.total);
                into.cpu_user_us_per_request.push(cpu.user);
                into.cpu_system_us_per_request.push(cpu.system);
            }
            into.p50.push(ms(report.latency_us.p50));
            into.p90.push(ms(report.latency_us.p90));
            into.p99.push(ms(report.latency_us.p99));
            into.p99_9.push(ms(report.latency_us.p99_9));
            into.errors = into.errors + report.errors;
            let (before, after) = sample.contention;
            before.add_until(after, &mut into.contention);
        }
    }

    pub fn summary(&self, cpus: f64) -> CpusRun {
        let server = !self.loads.is_empty();
        CpusRun {
            cpus,
            start_ms: Figure::of(&self.start_ms),
            stop_ms: Figure::of(&self.stop_ms),
            exit_code: self.exit_code,
            output_first_line: self.first_line.clone(),
            memory: server.then(|| Memory {
                idle_vmrss_bytes: Figure::of(&self.idle_vmrss),
                peak_vmhwm_bytes: Figure::of(&self.peak_vmhwm),
            }),
            loads: self
                .loads
                .iter()
                .filter_map(|(path, s)| {
                    Some(PathLoad {
                        path: path.clone(),
                        requests: s.requests.clone(),
                        requests_per_s: Figure::of(&s.requests_per_s)?,
                        cpu_us_per_request: Figure::of(&s.cpu_us_per_request),
                        cpu_user_us_per_request: Figure::of(&s.cpu_user_us_per_request),
                        cpu_system_us_per_request: Figure::of(&s.cpu_system_us_per_request),
                        latency_p50_ms: Figure::of(&s.p50)?,
                        latency_p90_ms: Figure::of(&s.p90)?,
                        latency_p99_ms: Figure::of(&s.p99)?,
                        latency_p99_9_ms: Figure::of(&s.p99_9)?,
                        errors: s.errors,
                        contention: Some(s.contention.clone()),
                    })
                })
                .collect(),
        }
    }
}
