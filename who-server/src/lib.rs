//! who-server: the Go `/who` demo server and the Go "Hello World" web demo, in Rust.
//!
//! The binary is a thin shell around [`Server`]: tests start the same server
//! in-process on port 0, through the same code path as production.

mod api;
pub mod check;
pub mod descriptors;
pub mod log;
mod routes;
mod server;
mod shutdown;
mod watched;

pub use server::{Config, Server};
pub use shutdown::Stopper;
