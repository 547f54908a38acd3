//! Where the numbers come from: the machine, the engine, the toolchains.

use bollard::Docker;

use crate::record::{DockerInfo, Machine};

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Machine {
        cpu_model: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, model)| model.trim().to_owned()),
        cpu_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_bytes: meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|kib| kib.trim().parse::<u64>().ok())
            .map(|kib| kib * 1024),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_owned()),
    }
}

pub async fn docker_info(docker: &Docker) -> DockerInfo {
    let version = docker.version().await.ok();
    let info = docker.info().await.ok();
    DockerInfo {
        server_version: version.and_then(|v| v.version),
        api_version: docker.client_version().to_string(),
        cgroup_version: info
            .as_ref()
            .and_then(|i| i.cgroup_version.as_ref())
            .map(|v| v.to_string()),
        storage_driver: info.and_then(|i| i.driver),
    }
}
