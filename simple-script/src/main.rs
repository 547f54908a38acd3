//! The course's `simple_script.py`, in Rust: the build stage of an image runs
//! `generate` to make `output.txt`, the run stage runs `show` to print it.

mod report;

use std::io::{self, ErrorKind, Write};
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

fn show(path: &Path) -> Result<(), String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    match io::stdout().lock().write_all(&text) {
        // Whoever reads us went away (`| head`): nothing left to do.
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| format!("cannot write to stdout: {e}")),
    }
}
