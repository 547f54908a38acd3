//! Cold and warm build times of one image.
//!
//! - cold: every stage with `nocache`, base images already present: what a
//!   fresh CI runner with the bases pulled pays;
//! - warm: then a rebuild after a one-line change (a comment appended to the
//!   program's source, in the context tar only): what a developer pays.
//!
//! A last cached build of the unchanged tree puts the tag back on the image
//! of the working tree, so what is measured next is what the tree builds.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{bail, Context, Result};
use bollard::query_parameters::ListImagesOptionsBuilder;
use bollard::Docker;

use crate::build::build;
use crate::buildspec::{with_tag, BuildSpec};
use crate::catalog::ImageSpec;
use crate::context::{tar_context, with_comment_line, Overrides};
use crate::progress::Progress;
use crate::record::BuildTimes;
use crate::stats::ms;

/// Every `repo:tag` the engine has.
pub async fn local_tags(docker: &Docker) -> Result<HashSet<String>> {
    let images = docker
        .list_images(Some(ListImagesOptionsBuilder::new().build()))
        .await
        .context("cannot list images")?;
    Ok(images.into_iter().flat_map(|i| i.repo_tags).collect())
}

pub async fn cold_and_warm(
    docker: &Docker,
    progress: &Progress,
    root: &Path,
    spec: &ImageSpec,
    recipe: &BuildSpec,
    local_tags: &HashSet<String>,
) -> Result<BuildTimes> {
    // Without its base the legacy builder would try to pull, and fail
    // slowly here; say what is missing instead.
    for (arg, base) in &recipe.bases {
        if !local_tags.contains(&with_tag(base)) {
            bail!("base image {base} ({arg}) is not on this engine: run `make bootstrap` or `make images` first");
        }
    }
    let source = spec.source_file().with_context(|| {
        format!(
            "{}: no source file to change for the warm rebuild",
            spec.tag
        )
    })?;
    let original =
        std::fs::read(root.join(source)).with_context(|| format!("cannot read {source}"))?;
    let changed = Overrides::from([(source.to_owned(), with_comment_line(source, &original))]);
    let (tree, warm_tree) = {
        let root = root.to_owned();
        tokio::task::spawn_blocking(move || {
            Ok::<_, anyhow::Error>((
                tar_context(&root, &Overrides::new())?,
                tar_context(&root, &changed)?,
            ))
        })
        .await??
    };

    let tag = &spec.tag;
    let cold = build(
        docker,
        progress,
        tag,
        recipe,
        tree.clone(),
        true,
        "cold build (no cache)",
    )
    .await?;
    let warm = build(
        docker,
        progress,
        tag,
        recipe,
        warm_tree,
        false,
        "warm rebuild (one-line change)",
    )
    .await?;
    build(
        docker,
        progress,
        tag,
        recipe,
        tree,
        false,
        "rebuild of the unchanged tree (cached)",
    )
    .await?;
    Ok(BuildTimes {
        cold_ms: ms(cold),
        warm_ms: ms(warm),
        warm_changed_file: source.to_owned(),
    })
}
