//! What the kernel says of a process in `/proc/PID/status`.

/// Memory and threads of one process; a field the kernel did not print is None.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Status {
    /// Resident now.
    pub vm_rss_bytes: Option<u64>,
    /// Resident at its peak so far (high-water mark).
    pub vm_hwm_bytes: Option<u64>,
    pub threads: Option<u64>,
}

pub fn status(pid: u32) -> std::io::Result<Status> {
    std::fs::read_to_string(format!("/proc/{pid}/status")).map(|text| parse_status(&text))
}

/// Reads lines such as `VmRSS:\t    1234 kB` and `Threads:\t2`.
pub fn parse_status(text: &str) -> Status {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(':')?.trim();
            match value.strip_suffix("kB") {
                Some(kib) => kib.trim().parse::<u64>().ok().map(|kib| kib * 1024),
                None => value.parse().ok(),
            }
        })
    };
    Status {
        vm_rss_bytes: field("VmRSS"),
        vm_hwm_bytes: field("VmHWM"),
        threads: field("Threads"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_memory_in_bytes_and_the_thread_count() {
        let status = parse_status(
            "Name:\twho-server\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nThreads:\t3\n",
        );
        assert_eq!(status.vm_rss_bytes, Some(1024 * 1024));
        assert_eq!(status.vm_hwm_bytes, Some(2048 * 1024));
        assert_eq!(status.threads, Some(3));
    }

    #[test]
    fn reads_this_process() {
        let me = status(std::process::id()).unwrap();
        assert!(me.vm_rss_bytes.unwrap() > 0);
        assert!(me.vm_hwm_bytes >= me.vm_rss_bytes);
    }
}
