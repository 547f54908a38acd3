//! The course's `simple_script.py`, in Rust: the build stage of an image runs
//! `generate` to make `output.txt`, the run stage runs `show` to print it.

mod report;

use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write output.txt: what produced it, where and when.
    Generate {
        /// Where to write it.
        #[arg(long, default_value = "output.txt")]
        out: PathBuf,
    },
    /// Print a file made by `generate`.
    Show {
        #[arg(default_value = "output.txt")]
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Generate { out } => report::generate(&out).map(|()| {
            println!("wrote {}", out.display());
        }),
        Command::Show { path } => show(&path),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("simple-script: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Copies the file to stdout through one fixed buffer, so that a file of
/// any size, a FIFO or `/dev/zero` takes no more memory than a small one.
fn show(path: &Path) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| cannot_read(path, e))?;
    let mut out = io::stdout().lock();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(cannot_read(path, e)),
        };
        match out.write_all(&buffer[..n]) {
            Ok(()) => {}
            // Whoever reads us went away (`| head`): nothing left to do.
            Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(format!("cannot write to stdout: {e}")),
        }
    }
    match out.flush() {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| format!("cannot write to stdout: {e}")),
    }
}

fn cannot_read(path: &Path, e: io::Error) -> String {
    format!("cannot read {}: {e}", path.display())
}
