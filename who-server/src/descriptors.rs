//! The descriptor limit against `--max-connections`.
//!
//! Past the limit `accept` fails with EMFILE and new clients wait however
//! high the cap is; so, as Go's runtime does, the soft limit is raised to
//! the hard one at start, and a cap that still does not fit is lowered.

/// Descriptors kept for what is not a client: stdio, each worker's
/// listener, epoll and waker, the signal pipe, and some slack.
pub fn reserve(workers: usize) -> u64 {
    16 + 4 * workers as u64
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft
/// limit now in force (`None` when unlimited or unknown).
pub fn raise_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // An unlimited hard limit can be above what the kernel allows
            // (nr_open): then the soft limit stays as it was.
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// The connection cap that fits in `limit` descriptors, with the line that
/// says so when `wanted` had to be lowered.
pub fn fit(wanted: usize, workers: usize, limit: Option<u64>) -> (usize, Option<String>) {
    let Some(limit) = limit else {
        return (wanted, None);
    };
    let room = limit.saturating_sub(reserve(workers)).max(1);
    if wanted as u64 <= room {
        return (wanted, None);
    }
    let message = format!(
        "--max-connections {wanted} does not fit in the {limit} descriptors this process may open \
         (RLIMIT_NOFILE); serving at most {room} connections at once"
    );
    (room as usize, Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_that_fits_is_kept_without_a_word() {
        assert_eq!(fit(1024, 2, None), (1024, None));
        assert_eq!(fit(1024, 2, Some(1024 + reserve(2))), (1024, None));
    }

    #[test]
    fn a_cap_that_does_not_fit_is_lowered_and_said() {
        let (cap, message) = fit(1024, 1, Some(64));
        assert_eq!(cap, 44);
        assert_eq!(
            message.as_deref(),
            Some(
                "--max-connections 1024 does not fit in the 64 descriptors this process may \
                 open (RLIMIT_NOFILE); serving at most 44 connections at once"
            )
        );
        assert_eq!(fit(1025, 1, Some(1045)).0, 1025);
        assert_eq!(fit(1026, 1, Some(1045)).0, 1025);
    }

    #[test]
    fn a_limit_below_the_reserve_still_serves_one() {
        assert_eq!(fit(10, 4, Some(8)).0, 1);
    }

    #[test]
    fn the_reserve_grows_with_the_workers() {
        assert_eq!(reserve(1), 20);
        assert_eq!(reserve(3), 28);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let raised = raise_limit();
        // SAFETY: getrlimit writes only the struct given.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(limit.rlim_cur, limit.rlim_max);
        assert_eq!(
            raised,
            Some(limit.rlim_cur).filter(|&n| n != libc::RLIM_INFINITY)
        );
    }
}
