//! who-server: the Go `/who` demo server and the Go "Hello World" web demo, in Rust.
//!
//! The binary is a thin shell around [`Server`]: tests start the same server
//! in-process on port 0, through the same code path as production.

mod access_log;
mod api;
pub mod check;
mod data;
pub mod defaults;
pub mod descriptors;
mod drain;
mod echo;
mod info;
pub mod log;
// Linked in as the libc symbols only in the static musl build; tested everywhere.
#[cfg(all(target_arch = "x86_64", any(test, target_env = "musl")))]
mod memcpy;
mod on_wake;
mod page;
#[cfg(feature = "tls")]
mod peer;
mod query;
mod refuse;
mod routes;
mod server;
mod shutdown;
#[cfg(feature = "tls")]
mod tls_check;
mod watched;

pub use routes::{Endpoints, Root};
#[cfg(feature = "tls")]
pub use server::TlsFiles;
pub use server::{Config, Server};

/// `--max-data`'s parser and the durations', for the binary's flags.
pub use query::{byte_count, go_duration};
pub use shutdown::Stopper;
