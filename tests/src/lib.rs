//! Helpers for the workspace's tests: running commands with failures that
//! explain themselves (in the manner of ripgrep's test utilities), and
//! starting server processes on a free port.

mod command;
pub mod docker;
mod server;

pub use command::{run, CommandExt, Outcome};
pub use server::ServerProcess;

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
