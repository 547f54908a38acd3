//! What else had the CPUs during a load, read before and after it so that
//! a round that stands out can be told from the program: the hypervisor's
//! steal time (this machine may be a VM), the container's CFS throttling,
//! how often the server's threads moved between cores and how often they
//! were switched out, idle time and rescheduling IPIs. Each is a counter
//! the kernel keeps whatever the machine's load, unlike the time the load
//! took. (None of them tells issue 19's slow state apart: that is the
//! host's, out of the guest's sight; compare/README.md, Reproducibility.)

use std::fs;

use super::cgroup::Cgroup;
use crate::record::Contention;

/// The counters at one moment; a None is one the kernel does not give.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    steal_us: Option<u64>,
    idle_us: Option<u64>,
    reschedule_ipis: Option<u64>,
    throttled_periods: Option<u64>,
    server_migrations: Option<u64>,
    server_switches: Option<u64>,
}

/// Reads the counters of the server `pid` in `cgroup`.
pub fn read(pid: u32, cgroup: Option<&Cgroup>) -> Reading {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let us = |ticks: u64| ticks * 1_000_000 / super::cgroup::clock_ticks_per_s();
    let interrupts = fs::read_to_string("/proc/interrupts").unwrap_or_default();
    Reading {
        steal_us: cpu_line_value(&stat, STEAL).map(us),
        idle_us: cpu_line_value(&stat, IDLE).map(us),
        reschedule_ipis: interrupt_count(&interrupts, "RES"),
        throttled_periods: cgroup.and_then(Cgroup::throttled_periods),
        server_migrations: threads_sum(pid, "se.nr_migrations"),
        server_switches: threads_sum(pid, "nr_switches"),
    }
}

impl Reading {
    /// What changed between `self` and a `later` reading, added to the
    /// rounds in `into`; a counter missing from either is left out.
    pub fn add_until(self, later: Reading, into: &mut Contention) {
        let pairs = [
            (self.steal_us, later.steal_us, &mut into.steal_us),
            (self.idle_us, later.idle_us, &mut into.idle_us),
            (
                self.reschedule_ipis,
                later.reschedule_ipis,
                &mut into.reschedule_ipis,
            ),
            (
                self.throttled_periods,
                later.throttled_periods,
                &mut into.throttled_periods,
            ),
            (
                self.server_migrations,
                later.server_migrations,
                &mut into.server_migrations,
            ),
            (
                self.server_switches,
                later.server_switches,
                &mut into.server_switches,
            ),
        ];
        for (before, after, rounds) in pairs {
            if let (Some(before), Some(after)) = (before, after) {
                rounds.push(after.saturating_sub(before));
            }
        }
    }
}

/// Of `/proc/stat`'s `cpu` line (every core), in clock ticks: the 4th
/// value, idle, and the 8th, steal.
const IDLE: usize = 4;
const STEAL: usize = 8;

/// The `nth` value of `/proc/stat`'s `cpu` line.
fn cpu_line_value(stat: &str, nth: usize) -> Option<u64> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    line.split_whitespace().nth(nth)?.parse().ok()
}

/// The interrupts of `/proc/interrupts`' line `name` (`RES`, the
/// rescheduling IPIs one core sends another to wake a task there), summed
/// over the cores.
fn interrupt_count(text: &str, name: &str) -> Option<u64> {
    let counts = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix(name)?.strip_prefix(':'))?;
    let counts: Vec<u64> = counts
        .split_whitespace()
        .map_while(|n| n.parse().ok())
        .collect();
    (!counts.is_empty()).then(|| counts.iter().sum())
}

/// A counter of `/proc/<pid>/task/<tid>/sched` summed over `pid`'s
/// threads (kernels built with scheduler debugging, as Debian's are):
/// `se.nr_migrations`, moves between cores; `nr_switches`, times switched
/// out, waiting or preempted.
fn threads_sum(pid: u32, field: &str) -> Option<u64> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut sum = None;
    for task in tasks.flatten() {
        // A thread that ended meanwhile is no longer counted.
        let Ok(sched) = fs::read_to_string(task.path().join("sched")) else {
            continue;
        };
        if let Some(count) = sched_field(&sched, field) {
            *sum.get_or_insert(0) += count;
        }
    }
    sum
}

/// A `name : value` line of a `sched` file.
fn sched_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_steal_are_the_fourth_and_eighth_values_of_the_cpu_line() {
        let stat = "cpu  3489645 143543 1372954 1414177 36961 0 267244 3214 0 0\n\
                    cpu0 1675140 67951 657052 824056 5557 0 132196 1642 0 0\n";
        assert_eq!(cpu_line_value(stat, IDLE), Some(1414177));
        assert_eq!(cpu_line_value(stat, STEAL), Some(3214));
        assert_eq!(cpu_line_value("cpu0 1 2 3 4 5 6 7 8\n", STEAL), None);
    }

    #[test]
    fn rescheduling_ipis_are_summed_over_the_cores() {
        let interrupts = "           CPU0       CPU1\n\
                          LOC:   22198050   23469246   Local timer interrupts\n\
                          RES:   16192228   18040150   Rescheduling interrupts\n";
        assert_eq!(interrupt_count(interrupts, "RES"), Some(34232378));
        assert_eq!(interrupt_count(interrupts, "CAL"), None);
    }

    #[test]
    fn migrations_are_read_from_a_sched_line() {
        let sched = "who-server (1879, #threads: 1)\n\
                     se.exec_start                                :      33809240.200380\n\
                     se.nr_migrations                             :                   12\n";
        assert_eq!(sched_field(sched, "se.nr_migrations"), Some(12));
        assert_eq!(sched_field(sched, "nr_switches"), None);
    }

    #[test]
    fn this_process_has_migration_and_switch_counts() {
        let me = std::process::id();
        assert!(threads_sum(me, "se.nr_migrations").is_some());
        assert!(threads_sum(me, "nr_switches").is_some());
        assert_eq!(threads_sum(me, "no such counter"), None);
    }

    #[test]
    fn a_counter_missing_from_a_reading_is_left_out_of_the_rounds() {
        let before = Reading {
            steal_us: Some(100),
            idle_us: Some(5),
            reschedule_ipis: None,
            throttled_periods: None,
            server_migrations: Some(3),
            server_switches: None,
        };
        let after = Reading {
            steal_us: Some(250),
            idle_us: Some(8),
            reschedule_ipis: Some(70),
            throttled_periods: Some(9),
            server_migrations: Some(3),
            server_switches: Some(40),
        };
        let mut rounds = Contention::default();
        before.add_until(after, &mut rounds);
        assert_eq!(rounds.steal_us, [150]);
        assert_eq!(rounds.idle_us, [3]);
        assert!(rounds.reschedule_ipis.is_empty());
        assert!(rounds.throttled_periods.is_empty());
        assert_eq!(rounds.server_migrations, [0]);
        assert!(rounds.server_switches.is_empty());
    }
}
