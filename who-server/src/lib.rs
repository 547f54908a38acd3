//! who-server: the Go `/who` demo server and the Go "Hello World" web demo, in Rust.
//!
//! The binary is a thin shell around [`Server`]: tests start the same server
//! in-process on port 0, through the same code path as production.

mod api;
pub mod check;
mod routes;
mod server;
mod shutdown;

pub use server::{Config, Server};
pub use shutdown::shutdown_signal;
