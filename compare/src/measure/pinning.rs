//! Which cores the container and wrk get under a CPU setting. `--cpus 1`
//! alone is a CFS quota, not a core: the scheduler moves the server's
//! threads and wrk's between the cores as it likes, and puts them on one
//! core in a share of the time that changes from round to round (29-95 %
//! of the samples, 2026-11-30), which made the worst rounds (who:go's
//! 23-32 µs per request against at most 22 pinned). So, when the setting
//! leaves a core free, the container
//! gets its own cores (cpuset, from core 0 up) and wrk the rest (taskset),
//! as who-server/bench/cpu-ladder.sh does. Its cores are then its limit,
//! and the CFS quota goes: on cores of its own the quota limits nothing
//! the cores do not, and it still throttled now and then (who:go, one
//! period in 3 of 20 loads at 1 CPU on core 0, 2026-11-30), a stall no
//! program asked for. A fractional setting (`--cpus 0.5`) keeps its quota,
//! on the whole core under it; a setting with no core left for wrk keeps
//! the quota alone, as before.

use crate::record::Pinning;

/// The cores of `cpus` (the container's CPU limit) on a machine of `cores`.
pub fn pinning(cpus: f64, cores: usize) -> Pinning {
    // A fractional limit needs the whole core under it.
    let own = (cpus.ceil() as usize).max(1);
    if own >= cores {
        // No core left for wrk: both run on all of them, where the
        // scheduler puts them.
        return Pinning {
            cpus,
            container_cpus: None,
            container_quota_cpus: Some(cpus),
            wrk_cpus: None,
        };
    }
    Pinning {
        cpus,
        container_cpus: Some(range(0, own - 1)),
        container_quota_cpus: (cpus.fract() != 0.0).then_some(cpus),
        wrk_cpus: Some(range(own, cores - 1)),
    }
}

/// The report's words for where wrk ran, setting by setting.
pub fn where_wrk_runs(pinnings: &[Pinning], cores: usize) -> String {
    let each: Vec<String> = pinnings
        .iter()
        .map(|p| match (&p.container_cpus, &p.wrk_cpus) {
            (Some(container), Some(wrk)) => format!(
                "at {} CPU the container runs on core {container} and wrk on core {wrk}",
                p.cpus
            ),
            _ => format!(
                "at {} CPUs the container and wrk share all {cores} cores, wherever the scheduler \
                 puts them: requests/s measures the pair",
                p.cpus
            ),
        })
        .collect();
    format!(
        "wrk runs on the same {cores}-core machine as the server, outside the container's CPU limit; {}",
        each.join("; ")
    )
}

/// A cpuset list, as `--cpuset-cpus` and `taskset -c` take it: `1` or `0-3`.
fn range(first: usize, last: usize) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cores_of(cpus: f64, cores: usize) -> (Option<String>, Option<String>) {
        let p = pinning(cpus, cores);
        (p.container_cpus, p.wrk_cpus)
    }

    #[test]
    fn one_cpu_of_two_gives_the_container_core_0_and_wrk_core_1() {
        assert_eq!(cores_of(1.0, 2), (Some("0".into()), Some("1".into())));
    }

    #[test]
    fn a_setting_with_no_core_left_for_wrk_pins_nothing() {
        assert_eq!(cores_of(2.0, 2), (None, None));
        assert_eq!(cores_of(4.0, 2), (None, None));
        assert_eq!(cores_of(1.0, 1), (None, None));
    }

    #[test]
    fn several_cores_go_to_the_container_from_core_0_and_the_rest_to_wrk() {
        assert_eq!(cores_of(2.0, 8), (Some("0-1".into()), Some("2-7".into())));
        assert_eq!(cores_of(7.0, 8), (Some("0-6".into()), Some("7".into())));
    }

    #[test]
    fn whole_cores_of_its_own_are_the_limit_and_anything_else_keeps_the_quota() {
        let quota = |cpus, cores| pinning(cpus, cores).container_quota_cpus;
        assert_eq!(quota(1.0, 2), None);
        assert_eq!(quota(2.0, 8), None);
        assert_eq!(quota(0.5, 2), Some(0.5));
        assert_eq!(quota(2.0, 2), Some(2.0));
    }

    #[test]
    fn the_report_says_where_wrk_ran_at_each_setting() {
        let said = where_wrk_runs(&[pinning(1.0, 2), pinning(2.0, 2)], 2);
        assert!(
            said.contains("at 1 CPU the container runs on core 0 and wrk on core 1"),
            "{said}"
        );
        assert!(
            said.contains("at 2 CPUs the container and wrk share all 2 cores"),
            "{said}"
        );
    }

    #[test]
    fn a_fractional_limit_takes_the_whole_core_under_it() {
        assert_eq!(cores_of(0.5, 2), (Some("0".into()), Some("1".into())));
        assert_eq!(cores_of(1.5, 4), (Some("0-1".into()), Some("2-3".into())));
    }
}
