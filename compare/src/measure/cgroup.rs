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
    /// The cgroup of `pid` (container `id`): the paths /proc says, else
    /// where the cgroupfs and systemd drivers put containers.
    pub fn of(pid: u32, id: &str) -> Result<Self> {
        let listed = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let v1 = |controller: &str, file: &str| {
            let mut candidates: Vec<PathBuf> = listed
                .lines()
                .filter_map(|line| {
                    let mut parts = line.splitn(3, ':');
                    let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                    controllers.split(',').any(|c| c == controller).then(|| {
                        Path::new(ROOT)
                            .join(controller)
                            .join(path.trim_start_matches('/'))
                    })
                })
                .collect();
            candidates
                .extend(driver_dirs(id).map(|dir| Path::new(ROOT).join(controller).join(dir)));
            candidates
                .into_iter()
                .find(|dir| dir.join(file).exists() && is_container_own(dir))
        };
        if let (Some(memory), Some(cpu)) = (
            v1("memory", "memory.usage_in_bytes"),
            v1("cpuacct", "cpuacct.usage"),
        ) {
            return Ok(Cgroup {
                memory,
                cpu,
                v2: false,
            });
        }
        let mut unified: Vec<PathBuf> = listed
            .lines()
            .filter_map(|line| line.strip_prefix("0::"))
            .map(|path| Path::new(ROOT).join(path.trim_start_matches('/')))
            .collect();
        unified.extend(driver_dirs(id).map(|dir| Path::new(ROOT).join(dir)));
        let dir = unified
            .into_iter()
            .find(|dir| dir.join("memory.current").exists() && is_container_own(dir))
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

/// Where Docker's cgroupfs and systemd drivers put a container.
fn driver_dirs(id: &str) -> impl Iterator<Item = String> {
    [
        format!("docker/{id}"),
        format!("system.slice/docker-{id}.scope"),
    ]
    .into_iter()
}

/// A namespaced /proc may show `/`: a hierarchy's root is not the container's.
fn is_container_own(dir: &Path) -> bool {
    dir.parent() != Some(Path::new(ROOT)) && dir != Path::new(ROOT)
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

    #[test]
    fn a_hierarchy_root_is_not_a_container() {
        assert!(!is_container_own(Path::new("/sys/fs/cgroup/memory")));
        assert!(!is_container_own(Path::new("/sys/fs/cgroup")));
        assert!(is_container_own(Path::new(
            "/sys/fs/cgroup/memory/docker/abc"
        )));
    }
}
