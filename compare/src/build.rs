//! Build times, taken through `scripts/build-images.sh`: the one way the
//! project builds an image, so what is timed is what `make images` makes.
//!
//! - cold: `BUILD_FLAGS=--no-cache`, base images present: what a fresh CI
//!   runner with the bases pulled pays;
//! - warm: the same script on a copy of the tree (tracked and untracked,
//!   not ignored, files) with one comment line appended to the image's
//!   source file, tagged behind `compare-warm/` so the real tags are never
//!   overwritten: what a developer pays after a one-line change.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::process::Command;

use benchkit::catalog::CatalogImage;

pub const SCRIPT: &str = "scripts/build-images.sh";
/// The warm builds' tags: `compare-warm/who:rust`.
const WARM_PREFIX: &str = "compare-warm/";

/// `scripts/build-images.sh --bases TAG`: the base images its build uses,
/// as (ARG, image) pairs, building nothing.
pub async fn bases(root: &Path, tag: &str) -> Result<Vec<(String, String)>> {
    let output = script(root)
        .arg("--bases")
        .arg(tag)
        .stderr(Stdio::piped())
        .output()
        .await
        .with_context(|| format!("cannot run {SCRIPT}"))?;
    if !output.status.success() {
        bail!(
            "{SCRIPT} --bases {tag}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let (_, arg, image) = (fields.next()?, fields.next()?, fields.next()?);
            Some((arg.to_owned(), image.to_owned()))
        })
        .collect())
}

/// Builds `prefix` + `spec.tag` with nothing cached; returns the wall time.
pub async fn cold(root: &Path, spec: &CatalogImage, prefix: &str) -> Result<Duration> {
    let mut command = script(root);
    command
        .env("BUILD_FLAGS", "--no-cache")
        .env("TAG_PREFIX", prefix)
        .arg(&spec.tag);
    timed(command, &spec.tag).await
}

/// Builds `prefix` + `spec.tag` as `make images` does, cache and all.
pub async fn cached(root: &Path, spec: &CatalogImage, prefix: &str) -> Result<Duration> {
    let mut command = script(root);
    command.env("TAG_PREFIX", prefix).arg(&spec.tag);
    timed(command, &spec.tag).await
}

/// A warm rebuild: its wall time, and the crates cargo compiled in it.
pub struct Warm {
    pub elapsed: Duration,
    pub compiled: Vec<String>,
}

/// Builds a copy of the tree with `round`'s one-line change to the image's
/// source; returns the wall time and what cargo compiled (from the build's
/// log). The warm tag is removed afterwards.
pub async fn warm(root: &Path, spec: &CatalogImage, prefix: &str, round: u32) -> Result<Warm> {
    let copy = tempfile::tempdir().context("cannot make a directory for the tree's copy")?;
    copy_tree(root, copy.path()).await?;
    let source = copy.path().join(&spec.source);
    let mut text =
        std::fs::read(&source).with_context(|| format!("cannot read {}", spec.source))?;
    text.extend_from_slice(comment_line(&spec.source, round).as_bytes());
    std::fs::write(&source, text).with_context(|| format!("cannot change {}", spec.source))?;

    let warm_prefix = format!("{WARM_PREFIX}{prefix}");
    let logs = root.join("target/image-logs/warm");
    let mut command = script(root);
    command
        .env("CONTEXT", copy.path())
        .env("TAG_PREFIX", &warm_prefix)
        .env("LOG_DIR", &logs)
        .arg(&spec.tag);
    let elapsed = timed(command, &spec.tag).await;
    let _ = Command::new("docker")
        .args(["image", "rm", "--no-prune"])
        .arg(format!("{warm_prefix}{}", spec.tag))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    // The script's log name: `who:rust` → who-rust.log.
    let log = std::fs::read_to_string(logs.join(format!("{}.log", spec.tag.replacen(':', "-", 1))))
        .unwrap_or_default();
    Ok(Warm {
        elapsed: elapsed?,
        compiled: compiled(&log),
    })
}

/// The crates of cargo's `Compiling NAME vX` lines in a build log (the
/// legacy builder's or BuildKit's plain output, colour codes and all), in
/// order.
fn compiled(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| {
            // The legacy builder passes cargo's colours through.
            let line = strip_ansi_escapes::strip_str(line);
            let mut words = line.split_whitespace().skip_while(|w| *w != "Compiling");
            words.next()?;
            let (name, version) = (words.next()?, words.next()?);
            version.starts_with('v').then(|| name.to_owned())
        })
        .collect()
}

/// The stage of `spec`'s Dockerfile that does its build, when that build is
/// the same for other images: its stage is `FROM <another stage> AS <its
/// stage>` and no `ARG APP` makes the build its own (the naive Rust images'
/// one `cargo build` stage, each image a command on top). Images with the
/// same answer build the same thing: timed once. `None` otherwise.
pub fn shared_stage(root: &Path, spec: &CatalogImage) -> Option<String> {
    let text = std::fs::read_to_string(root.join("docker").join(&spec.dockerfile)).ok()?;
    shared_stage_of(&text, &spec.stage).map(|stage| format!("{}:{stage}", spec.dockerfile))
}

fn shared_stage_of(dockerfile: &str, stage: &str) -> Option<String> {
    let froms: Vec<(String, Option<String>)> = dockerfile
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["FROM", .., base, as_, name] if as_.eq_ignore_ascii_case("as") => {
                    Some(((*base).to_owned(), Some((*name).to_owned())))
                }
                ["FROM", .., base] => Some(((*base).to_owned(), None)),
                _ => None,
            }
        })
        .collect();
    if dockerfile.lines().any(|l| l.starts_with("ARG APP")) {
        return None;
    }
    let (base, _) = froms
        .iter()
        .find(|(_, name)| name.as_deref() == Some(stage))?;
    froms
        .iter()
        .any(|(_, name)| name.as_deref() == Some(base.as_str()))
        .then(|| base.clone())
}

fn script(root: &Path) -> Command {
    let mut command = Command::new(root.join(SCRIPT));
    command.current_dir(root).kill_on_drop(true);
    command
}

async fn timed(mut command: Command, tag: &str) -> Result<Duration> {
    let started = Instant::now();
    // The script prints one line per image and, on failure, the log's tail.
    let output = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await
        .with_context(|| format!("cannot run {SCRIPT}"))?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        bail!(
            "{SCRIPT} {tag} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(elapsed)
}

/// A line that changes the source but not the program, never the same
/// twice (so no earlier build can be in the cache for it).
fn comment_line(source: &str, round: u32) -> String {
    let marker = if source.ends_with(".py") { "#" } else { "//" };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("\n{marker} compare: warm rebuild, round {round}, {now}\n")
}

/// The tree as a commit would hold it, copied off the runtime's threads.
async fn copy_tree(root: &Path, to: &Path) -> Result<()> {
    let (root, to) = (root.to_owned(), to.to_owned());
    tokio::task::spawn_blocking(move || benchkit::tree::copy_tracked(&root, &to))
        .await?
        .context("cannot copy the tree")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_cargo_compiled_from_a_build_log() {
        let log = "Step 12/40 : RUN cargo build\n ---> Running in 1f\n   \
                   Compiling who-server v0.1.0 (/src/who-server)\n\
                   #14 12.3 \x1b[91m   Compiling hyper v1.7.0\n    Finished `release` profile\n\
                   \x1b[0m\x1b[91m   Compiling\x1b[0m\x1b[91m libc v0.2.191\n\
                   Compiling is what this says\n";
        assert_eq!(compiled(log), ["who-server", "hyper", "libc"]);
    }

    #[test]
    fn stages_on_one_build_stage_share_it() {
        let naive = "ARG RUST_IMAGE=rust\nFROM ${RUST_IMAGE} AS build\nRUN cargo build\n\
                     FROM build AS who\nCMD [\"who\"]\nFROM build AS hello\n";
        assert_eq!(shared_stage_of(naive, "who").as_deref(), Some("build"));
        assert_eq!(shared_stage_of(naive, "hello").as_deref(), Some("build"));
        assert_eq!(
            shared_stage_of(naive, "build"),
            None,
            "built FROM a base image"
        );
        let per_app =
            "FROM golang AS builder\nARG APP=who\nFROM builder AS binaries\nFROM scratch\n";
        assert_eq!(
            shared_stage_of(per_app, "binaries"),
            None,
            "ARG APP: each its own"
        );
        assert_eq!(shared_stage_of(naive, "web"), None);
    }

    #[test]
    fn the_comment_suits_the_language_and_is_never_the_same() {
        assert!(comment_line("originals/simple-script/simple_script.py", 1).starts_with("\n# "));
        assert!(comment_line("hello/src/main.rs", 1).starts_with("\n// "));
        assert_ne!(comment_line("a.go", 1), comment_line("a.go", 1));
    }
}
