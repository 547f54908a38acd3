//! How to build a tag, by the same rules as `scripts/build-images.sh` (kept
//! in step by hand: that script has no machine-readable output):
//! - `PROGRAM:VARIANT` builds `docker/VARIANT.Dockerfile`;
//! - `--target PROGRAM` when the Dockerfile has a stage `AS PROGRAM`;
//! - each `ARG X_IMAGE=official` gets the official image when the engine
//!   has it, its `standin/` copy otherwise (`STANDINS=auto|0|1`, lib.sh);
//! - `APP=PROGRAM` and the metadata args, for the Dockerfiles that declare them.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::catalog::ImageSpec;

const STANDIN_PREFIX: &str = "standin/";
/// The args build-images.sh passes when a Dockerfile declares them, with its defaults.
const PASSED_ARGS: &[(&str, &str)] = &[
    ("VERSION", "unknown"),
    ("REVISION", "unknown"),
    ("CREATED", "unknown"),
    ("SOURCE", "unknown"),
    ("SOURCE_DATE_EPOCH", "0"),
];

#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// Relative to the build context, which is the repository root.
    pub dockerfile: String,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    /// (ARG name, image used) for each base image.
    pub bases: Vec<(String, String)>,
}

/// `local_tags` are the engine's image tags, for the stand-in choice.
pub fn build_spec(
    root: &Path,
    spec: &ImageSpec,
    local_tags: &HashSet<String>,
) -> Result<BuildSpec> {
    let dockerfile = format!("docker/{}.Dockerfile", spec.variant);
    let text = std::fs::read_to_string(root.join(&dockerfile))
        .with_context(|| format!("{}: there is no {dockerfile}", spec.tag))?;
    let mode = std::env::var("STANDINS").unwrap_or_else(|_| "auto".to_owned());
    let mut build_args = BTreeMap::new();
    let mut bases = Vec::new();
    for (name, official) in image_args(&text) {
        let image = base_for(&official, &mode, local_tags)?;
        build_args.insert(name.clone(), image.clone());
        bases.push((name, image));
    }
    if declares_arg(&text, "APP") {
        build_args.insert("APP".to_owned(), spec.program.clone());
    }
    for (name, default) in PASSED_ARGS {
        if declares_arg(&text, name) {
            let value = std::env::var(name).unwrap_or_else(|_| (*default).to_owned());
            build_args.insert((*name).to_owned(), value);
        }
    }
    let target = has_stage(&text, &spec.program).then(|| spec.program.clone());
    Ok(BuildSpec {
        dockerfile,
        target,
        build_args,
        bases,
    })
}

/// `ARG NAME_IMAGE=official` lines, as lib.sh's `image_args` reads them.
fn image_args(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("ARG "))
        .filter_map(|rest| rest.split_once('='))
        .filter(|(name, _)| {
            name.ends_with("_IMAGE") && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
        .map(|(name, value)| (name.to_owned(), value.trim().to_owned()))
        .collect()
}

fn declares_arg(text: &str, name: &str) -> bool {
    text.lines().any(|line| {
        line.strip_prefix("ARG ")
            .and_then(|rest| rest.strip_prefix(name))
            .is_some_and(|after| after.is_empty() || after.starts_with(['=', ' ']))
    })
}

fn has_stage(text: &str, stage: &str) -> bool {
    text.lines().any(|line| {
        line.starts_with("FROM ")
            && line
                .strip_suffix(stage)
                .is_some_and(|head| head.ends_with(" AS "))
    })
}

fn base_for(official: &str, mode: &str, local_tags: &HashSet<String>) -> Result<String> {
    let standin = format!("{STANDIN_PREFIX}{official}");
    Ok(match mode {
        "0" => official.to_owned(),
        "1" => standin,
        "auto" if local_tags.contains(&with_tag(official)) => official.to_owned(),
        "auto" => standin,
        other => bail!("STANDINS must be auto, 0 or 1 (got {other:?})"),
    })
}

/// `busybox` means `busybox:latest` to the engine.
pub fn with_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUST: &str = "ARG RUST_IMAGE=rust:1.95-alpine\nFROM ${RUST_IMAGE} AS chef\n\
                        ARG SOURCE_DATE_EPOCH\nFROM oci AS who\nARG VERSION=unknown\n";

    #[test]
    fn reads_the_dockerfile_like_build_images_sh() {
        assert_eq!(
            image_args(RUST),
            vec![("RUST_IMAGE".to_owned(), "rust:1.95-alpine".to_owned())]
        );
        assert!(has_stage(RUST, "who"));
        assert!(!has_stage(RUST, "hello"));
        assert!(declares_arg(RUST, "SOURCE_DATE_EPOCH"));
        assert!(declares_arg(RUST, "VERSION"));
        assert!(!declares_arg(RUST, "APP"));
    }

    #[test]
    fn falls_back_to_stand_ins() {
        let local: HashSet<String> = ["golang:1.27".to_owned()].into();
        assert_eq!(
            base_for("golang:1.27", "auto", &local).unwrap(),
            "golang:1.27"
        );
        assert_eq!(
            base_for("busybox", "auto", &local).unwrap(),
            "standin/busybox"
        );
        assert!(base_for("x", "maybe", &local).is_err());
    }
}
