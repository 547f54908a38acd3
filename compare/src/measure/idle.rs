//! A server's idle memory: VmRSS once it has held still after the first
//! answer. Start-up work (an allocator's warm-up, a runtime's threads) may
//! still be growing it then; the six plain-HTTP servers of the catalog were
//! flat from their first answer on (read every 50 ms for 2 s, 2026-11-30;
//! who:rust-tls not tried), so waiting a fixed second, as compare did,
//! cost a second per container for nothing.

use std::time::{Duration, Instant};

use anyhow::Result;
use benchkit::procfs;

/// VmRSS must read the same for this long to count as idle.
pub const IDLE_STEADY: Duration = Duration::from_millis(250);
/// How often it is read meanwhile.
const POLL: Duration = Duration::from_millis(50);
/// A server still growing by then is read as it is.
pub const IDLE_AT_MOST: Duration = Duration::from_secs(1);

/// `pid`'s status once its VmRSS has not moved for [`IDLE_STEADY`], or
/// [`IDLE_AT_MOST`] after the call.
pub async fn settled(pid: u32) -> Result<procfs::Status> {
    let called = Instant::now();
    let mut last = procfs::status(pid)?;
    let mut steady_since = called;
    while steady_since.elapsed() < IDLE_STEADY && called.elapsed() < IDLE_AT_MOST {
        tokio::time::sleep(POLL).await;
        let now = procfs::status(pid)?;
        if now.vm_rss_bytes != last.vm_rss_bytes {
            steady_since = Instant::now();
        }
        last = now;
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_memory_is_read_after_the_steady_time_and_within_the_limit() {
        let called = Instant::now();
        let status = settled(std::process::id()).await.unwrap();
        assert!(status.vm_rss_bytes.is_some());
        let took = called.elapsed();
        assert!(took >= IDLE_STEADY, "{took:?}");
        assert!(took < IDLE_AT_MOST + POLL, "{took:?}");
    }

    #[tokio::test]
    async fn a_process_that_is_gone_is_an_error() {
        assert!(settled(u32::MAX).await.is_err());
    }
}
