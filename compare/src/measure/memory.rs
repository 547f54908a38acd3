//! Memory of a running container, two ways, each named for what it is:
//! - the main process's `VmRSS` (resident now) and `VmHWM` (resident at its
//!   peak) from `/proc/<host pid>/status`: what the program itself costs;
//! - the container cgroup's usage and peak usage: everything charged to the
//!   container, page cache included (v1 `memory.usage_in_bytes` /
//!   `memory.max_usage_in_bytes`, v2 `memory.current` / `memory.peak`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

#[derive(Debug, Clone, Copy, Default)]
pub struct ProcMemory {
    pub vmrss_bytes: Option<u64>,
    pub vmhwm_bytes: Option<u64>,
}

pub fn proc_memory(pid: u32) -> Result<ProcMemory> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    Ok(parse_status(&status))
}

fn parse_status(status: &str) -> ProcMemory {
    // "VmRSS:	    1234 kB"
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            let kib: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
            Some(kib * 1024)
        })
    };
    ProcMemory {
        vmrss_bytes: field("VmRSS"),
        vmhwm_bytes: field("VmHWM"),
    }
}

#[derive(Debug, Clone)]
pub enum Cgroup {
    V1(PathBuf),
    V2(PathBuf),
}

impl Cgroup {
    /// The memory cgroup of `pid` (container `id`): the path /proc says,
    /// else where the cgroupfs and systemd drivers put containers.
    pub fn of(pid: u32, id: &str) -> Result<Self> {
        let listed = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let mut candidates = Vec::new();
        for line in listed.lines() {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
            let path = path.unwrap_or("").trim_start_matches('/');
            match controllers {
                Some(c) if c.split(',').any(|c| c == "memory") => {
                    candidates.push(Cgroup::V1(Path::new("/sys/fs/cgroup/memory").join(path)))
                }
                Some("") => candidates.push(Cgroup::V2(Path::new("/sys/fs/cgroup").join(path))),
                _ => {}
            }
        }
        for dir in [
            format!("docker/{id}"),
            format!("system.slice/docker-{id}.scope"),
        ] {
            candidates.push(Cgroup::V1(Path::new("/sys/fs/cgroup/memory").join(&dir)));
            candidates.push(Cgroup::V2(Path::new("/sys/fs/cgroup").join(&dir)));
        }
        candidates
            .into_iter()
            .find(|c| c.usage_file().exists() && c.is_container_own())
            .ok_or_else(|| anyhow!("no memory cgroup found for container {id}"))
    }

    /// A namespaced /proc may show `/`: the root cgroup is not the container's.
    fn is_container_own(&self) -> bool {
        let dir = match self {
            Cgroup::V1(dir) => dir,
            Cgroup::V2(dir) => dir,
        };
        dir != Path::new("/sys/fs/cgroup/memory") && dir != Path::new("/sys/fs/cgroup")
    }

    pub fn version(&self) -> &'static str {
        match self {
            Cgroup::V1(_) => "v1",
            Cgroup::V2(_) => "v2",
        }
    }

    fn usage_file(&self) -> PathBuf {
        match self {
            Cgroup::V1(dir) => dir.join("memory.usage_in_bytes"),
            Cgroup::V2(dir) => dir.join("memory.current"),
        }
    }

    fn peak_file(&self) -> PathBuf {
        match self {
            Cgroup::V1(dir) => dir.join("memory.max_usage_in_bytes"),
            // Kernels before 5.19 have no memory.peak: then this fails.
            Cgroup::V2(dir) => dir.join("memory.peak"),
        }
    }

    pub fn usage_bytes(&self) -> Result<u64> {
        read_number(&self.usage_file())
    }

    pub fn peak_bytes(&self) -> Result<u64> {
        read_number(&self.peak_file())
    }
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
    fn reads_vm_fields() {
        let status = "Name:\twho-server\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n";
        let memory = parse_status(status);
        assert_eq!(memory.vmrss_bytes, Some(1024 * 1024));
        assert_eq!(memory.vmhwm_bytes, Some(2048 * 1024));
    }
}
