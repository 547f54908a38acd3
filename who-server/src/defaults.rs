//! Every default of who-server's settings, once. The binary's flags show
//! and parse these texts (main.rs), and [`crate::Config::default`], the
//! server the tests start, parses the same ones, so the two cannot drift.

use std::time::Duration;

pub const PORT: u16 = 8080;
pub const HEADER_TIMEOUT: &str = "10s";
pub const MAX_CONNECTIONS: u32 = 1024;
pub const DRAIN_TIMEOUT: &str = "5s";
pub const SHUTDOWN_DELAY: &str = "0s";
pub const LOG_INTERVAL: &str = "10s";
pub const MAX_DATA: &str = "1GiB";
pub const MAX_WAIT: &str = "30s";
/// `who-server check`'s limit.
pub const CHECK_TIMEOUT: &str = "3s";

/// One of the durations above, parsed as the flags parse it.
pub(crate) fn duration(text: &'static str) -> Duration {
    crate::query::go_duration(text).expect("the defaults are Go durations (tested)")
}

/// [`MAX_DATA`], parsed as `--max-data` parses it.
pub(crate) fn max_data() -> u64 {
    crate::query::byte_count(MAX_DATA).expect("the default is a byte count (tested)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_parse_as_the_flags_parse_them() {
        assert_eq!(duration(HEADER_TIMEOUT), Duration::from_secs(10));
        assert_eq!(duration(DRAIN_TIMEOUT), Duration::from_secs(5));
        assert_eq!(duration(SHUTDOWN_DELAY), Duration::ZERO);
        assert_eq!(duration(LOG_INTERVAL), Duration::from_secs(10));
        assert_eq!(duration(MAX_WAIT), Duration::from_secs(30));
        assert_eq!(duration(CHECK_TIMEOUT), Duration::from_secs(3));
        assert_eq!(max_data(), 1 << 30);
    }
}
