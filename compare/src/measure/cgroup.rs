//! The CPU time the kernel charges to a container's cgroup: every thread of
//! every process in it, in user and kernel mode, and those two parts.
//! v1: `cpuacct.usage` (ns) and `cpuacct.stat` (`user`, `system`, in
//! USER_HZ ticks); v2: `cpu.stat`'s `usage_usec`, `user_usec`,
//! `system_usec`. The CFS quota's throttling: `cpu.stat` `nr_throttled`
//! (v1: the cpu controller's, v2: the same file). The process's memory
//! comes from benchkit::procfs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

const ROOT: &str = "/sys/fs/cgroup";

#[derive(Debug, Clone)]
pub struct Cgroup {
    dir: PathBuf,
    v2: bool,
    /// Where `cpu.stat` with `nr_throttled` is: v1's cpu controller (not
    /// always mounted with cpuacct), v2's one directory.
    throttling: Option<PathBuf>,
}

impl Cgroup {
    /// The cgroup of `pid` (container `id`): where /proc says, else where
    /// Docker's cgroupfs and systemd drivers put containers.
    pub fn of(pid: u32, id: &str) -> Result<Self> {
        let listed = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        // `2:cpuacct:/docker/ID` (v1) or `0::/docker/ID` (v2).
        let find = |controller: &str, under: &Path, file: &str| {
            listed
                .lines()
                .filter_map(|line| line.split(':').nth(1).zip(line.splitn(3, ':').nth(2)))
                .filter(|(controllers, _)| controllers.split(',').any(|c| c == controller))
                .map(|(_, path)| path.trim_start_matches('/').to_owned())
                .chain([
                    format!("docker/{id}"),
                    format!("system.slice/docker-{id}.scope"),
                ])
                .map(|path| under.join(path))
                .find(|dir| {
                    // A hierarchy's root (a namespaced /proc shows `/`) is not the container's.
                    let own = dir.parent() != Some(Path::new(ROOT)) && dir != Path::new(ROOT);
                    own && dir.join(file).exists()
                })
        };
        let root = Path::new(ROOT);
        if let Some(dir) = find("cpuacct", &root.join("cpuacct"), "cpuacct.usage") {
            let throttling = find("cpu", &root.join("cpu"), "cpu.stat");
            return Ok(Cgroup {
                dir,
                v2: false,
                throttling,
            });
        }
        let dir = find("", root, "cpu.stat")
            .ok_or_else(|| anyhow!("no cgroup found for container {id}"))?;
        Ok(Cgroup {
            throttling: Some(dir.clone()),
            dir,
            v2: true,
        })
    }

    /// CFS periods so far in which the quota ran out; None where the
    /// kernel keeps no such count.
    pub fn throttled_periods(&self) -> Option<u64> {
        let stat = fs::read_to_string(self.throttling.as_ref()?.join("cpu.stat")).ok()?;
        key_value(&stat, "nr_throttled")
    }

    /// CPU time charged so far.
    pub fn cpu(&self) -> Result<CpuTime> {
        let read = |name: &str| {
            let file = self.dir.join(name);
            let text = fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            anyhow::Ok((file, text))
        };
        let time = if self.v2 {
            let (file, stat) = read("cpu.stat")?;
            cpu_stat_v2(&stat).ok_or_else(|| anyhow!("no CPU usage in {}", file.display()))?
        } else {
            let (file, usage) = read("cpuacct.usage")?;
            let total_ns = usage
                .trim()
                .parse()
                .map_err(|_| anyhow!("no CPU usage in {}", file.display()))?;
            let (file, stat) = read("cpuacct.stat")?;
            let (user_ns, system_ns) = cpuacct_stat_v1(&stat, clock_ticks_per_s())
                .ok_or_else(|| anyhow!("no user and system time in {}", file.display()))?;
            CpuTime {
                total_ns,
                user_ns,
                system_ns,
            }
        };
        Ok(time)
    }
}

/// CPU time in nanoseconds: the total, and its user and kernel parts (v1
/// counts these in ticks, so they need not add up to the total exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTime {
    pub total_ns: u64,
    pub user_ns: u64,
    pub system_ns: u64,
}

impl CpuTime {
    /// What was charged between `self` and a later reading.
    pub fn until(self, later: CpuTime) -> CpuTime {
        CpuTime {
            total_ns: later.total_ns.saturating_sub(self.total_ns),
            user_ns: later.user_ns.saturating_sub(self.user_ns),
            system_ns: later.system_ns.saturating_sub(self.system_ns),
        }
    }
}

/// `usage_usec`, `user_usec`, `system_usec` of a v2 `cpu.stat`.
fn cpu_stat_v2(text: &str) -> Option<CpuTime> {
    let field = |name: &str| key_value(text, name).map(|us| us * 1000);
    Some(CpuTime {
        total_ns: field("usage_usec")?,
        user_ns: field("user_usec")?,
        system_ns: field("system_usec")?,
    })
}

/// `user` and `system` of a v1 `cpuacct.stat`, ticks made nanoseconds.
fn cpuacct_stat_v1(text: &str, ticks_per_s: u64) -> Option<(u64, u64)> {
    let field = |name: &str| {
        key_value(text, name).map(|ticks| ticks * (1_000_000_000 / ticks_per_s.max(1)))
    };
    Some((field("user")?, field("system")?))
}

/// The number of a `NAME VALUE` line, the form of both stat files.
fn key_value(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// USER_HZ, the unit of cpuacct.stat: sysconf(_SC_CLK_TCK), 100 on Linux.
pub fn clock_ticks_per_s() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as u64,
        _ => 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v2_cpu_usage_and_its_parts() {
        let stat = "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 0\n";
        let time = cpu_stat_v2(stat).unwrap();
        assert_eq!(
            (time.total_ns, time.user_ns, time.system_ns),
            (123_456_000, 100_000_000, 23_456_000)
        );
        assert_eq!(cpu_stat_v2("user_usec 1\n"), None);
    }

    #[test]
    fn the_throttled_count_is_read_from_cpu_stat() {
        let dir = tempfile::tempdir().unwrap();
        let stat = "nr_periods 120\nnr_throttled 7\nthrottled_time 900\n";
        fs::write(dir.path().join("cpu.stat"), stat).unwrap();
        let cgroup = |throttling| Cgroup {
            dir: dir.path().to_owned(),
            v2: false,
            throttling,
        };
        assert_eq!(
            cgroup(Some(dir.path().to_owned())).throttled_periods(),
            Some(7)
        );
        assert_eq!(cgroup(None).throttled_periods(), None);
    }

    #[test]
    fn reads_v1_user_and_system_ticks() {
        assert_eq!(
            cpuacct_stat_v1("user 230\nsystem 624\n", 100),
            Some((2_300_000_000, 6_240_000_000))
        );
        assert_eq!(cpuacct_stat_v1("user 1\n", 100), None);
    }

    #[test]
    fn a_reading_is_taken_from_a_later_one() {
        let at = |t, u, s| CpuTime {
            total_ns: t,
            user_ns: u,
            system_ns: s,
        };
        assert_eq!(at(10, 4, 6).until(at(25, 9, 16)), at(15, 5, 10));
    }
}
