//! What the kernel charges to a container's cgroup: memory (usage and
//! peak, page cache included) and CPU time (every thread of every process
//! in it, in user and kernel mode). The process's own VmRSS/VmHWM come
//! from testkit::procfs.
//!
//! cgroup v1: `memory.usage_in_bytes`, `memory.max_usage_in_bytes`,
//! `cpuacct.usage` (ns); v2: `memory.current`, `memory.peak`, `cpu.stat`
//! `usage_usec`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

const ROOT: &str = "/sys/fs/cgroup";

#[derive(Debug, Clone)]
pub struct Cgroup {
    /// v1: one directory per controller.
    memory: PathBuf,
    cpu: PathBuf,
    v2: bool,
}

impl Cgroup {
    /// The cgroup of `pid` (container `id`): where /proc says, else where
    /// Docker's cgroupfs and systemd drivers put containers.
    pub fn of(pid: u32, id: &str) -> Result<Self> {
        let listed = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        // `4:memory:/docker/ID` (v1) or `0::/docker/ID` (v2).
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
        let v1 = (
            find("memory", &root.join("memory"), "memory.usage_in_bytes"),
            find("cpuacct", &root.join("cpuacct"), "cpuacct.usage"),
        );
        if let (Some(memory), Some(cpu)) = v1 {
            return Ok(Cgroup {
                memory,
                cpu,
                v2: false,
            });
        }
        let dir = find("", root, "memory.current")
            .ok_or_else(|| anyhow!("no cgroup found for container {id}"))?;
        Ok(Cgroup {
            memory: dir.clone(),
            cpu: dir,
            v2: true,
        })
    }

    pub fn version(&self) -> &'static str {
        if self.v2 {
            "v2"
        } else {
            "v1"
        }
    }

    pub fn memory_bytes(&self) -> Result<u64> {
        let file = if self.v2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        };
        read_number(&self.memory.join(file))
    }

    /// Kernels before 5.19 have no v2 `memory.peak`: then this fails.
    pub fn peak_memory_bytes(&self) -> Result<u64> {
        let file = if self.v2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        read_number(&self.memory.join(file))
    }

    /// CPU time charged so far, in nanoseconds.
    pub fn cpu_ns(&self) -> Result<u64> {
        if !self.v2 {
            return read_number(&self.cpu.join("cpuacct.usage"));
        }
        let path = self.cpu.join("cpu.stat");
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        usage_usec(&text)
            .map(|us| us * 1000)
            .ok_or_else(|| anyhow!("no usage_usec in {}", path.display()))
    }
}

fn usage_usec(cpu_stat: &str) -> Option<u64> {
    cpu_stat
        .lines()
        .find_map(|line| line.strip_prefix("usage_usec "))
        .and_then(|value| value.trim().parse().ok())
}

fn read_number(path: &Path) -> Result<u64> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.trim()
        .parse()
        .with_context(|| format!("{} is not a number", path.display()))
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
