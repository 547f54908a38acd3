//! The Go "Multi Stage Builds" hello demo, in Rust: prints `Hello world!`.
//!
//! No dependencies on purpose: this binary is the size floor of the comparison.

use std::io::{self, ErrorKind, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    // `println!` panics when stdout is closed (`hello | head -c0`); a reader
    // that went away is not an error worth reporting, anything else is.
    match writeln!(io::stdout().lock(), "Hello world!") {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hello: cannot write to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}
