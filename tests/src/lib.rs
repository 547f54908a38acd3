//! Helpers for the workspace's tests: running commands with failures that
//! explain themselves (in the manner of ripgrep's test utilities), and
//! starting server processes on a free port. What compare needs too (the
//! catalog, wrk, /proc, the tree's copy, HTTPS with a test certificate) is
//! benchkit's, re-exported here.

pub mod catalog;
mod command;
pub mod docker;
mod server;

pub use benchkit::{procfs, tls, tree, wrk};

pub use command::{run, run_within, start, CommandExt, Outcome, Running};
pub use server::{listening_addr, ServerProcess};

/// This workspace's root, where the Makefile, docker/ and scripts/ are.
pub fn root() -> std::path::PathBuf {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    tests
        .parent()
        .expect("tests/ is in the workspace")
        .to_owned()
}

/// Reads until the server closes the connection (EOF or reset), and returns
/// what it sent; fails if it is still open after `limit`.
pub fn read_until_closed(stream: &mut std::net::TcpStream, limit: std::time::Duration) -> Vec<u8> {
    use std::io::Read;
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        Ok(_) => received,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => received,
        Err(e) => panic!("the server kept the connection open past {limit:?}: {e}"),
    }
}

/// A blocking HTTP client that answers 4xx and 5xx as responses, not errors.
pub fn http_get(url: &str) -> (u16, String) {
    match ureq::get(url)
        .timeout(std::time::Duration::from_secs(5))
        .call()
    {
        Ok(response) => (
            response.status(),
            response.into_string().expect("read body"),
        ),
        Err(ureq::Error::Status(status, response)) => {
            (status, response.into_string().expect("read body"))
        }
        Err(e) => panic!("GET {url} failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracked_tree_is_copied_as_committed() {
        let to = tempfile::tempdir().unwrap();
        tree::copy_tracked(&root(), to.path()).unwrap();
        assert!(to.path().join("benchkit/src/tree.rs").is_file());
        assert!(to.path().join("docker/images.tsv").is_file());
        assert!(!to.path().join("target").exists(), "ignored files copied");
    }
}
