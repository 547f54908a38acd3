//! The CPU time the kernel charges to a container's cgroup: every thread of
//! every process in it, in user and kernel mode. v1: `cpuacct.usage` (ns);
//! v2: `cpu.stat`'s `usage_usec`. The process's memory comes from
//! benchkit::procfs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

const ROOT: &str = "/sys/fs/cgroup";

#[derive(Debug, Clone)]
pub struct Cgroup {
    dir: PathBuf,
    v2: bool,
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
            return Ok(Cgroup { dir, v2: false });
        }
        let dir = find("", root, "cpu.stat")
            .ok_or_else(|| anyhow!("no cgroup found for container {id}"))?;
        Ok(Cgroup { dir, v2: true })
    }

    /// CPU time charged so far, in nanoseconds.
    pub fn cpu_ns(&self) -> Result<u64> {
        let file = self
            .dir
            .join(if self.v2 { "cpu.stat" } else { "cpuacct.usage" });
        let text =
            fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let ns = if self.v2 {
            usage_usec(&text).map(|us| us * 1000)
        } else {
            text.trim().parse().ok()
        };
        ns.ok_or_else(|| anyhow!("no CPU usage in {}", file.display()))
    }
}

fn usage_usec(cpu_stat: &str) -> Option<u64> {
    cpu_stat
        .lines()
        .find_map(|line| line.strip_prefix("usage_usec "))
        .and_then(|value| value.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v2_cpu_usage() {
        let stat = "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n";
        assert_eq!(usage_usec(stat), Some(123_456));
        assert_eq!(usage_usec("user_usec 1\n"), None);
    }
}
