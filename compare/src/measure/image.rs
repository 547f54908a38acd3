//! What `docker image inspect` says of an image: its size as Docker reports
//! it, layers, user, labels, and the command it runs.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use bollard::Docker;

/// The PATH an image without one gets (Docker's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub struct ImageFacts {
    pub id: Option<String>,
    pub size_bytes: Option<i64>,
    pub layer_count: usize,
    /// `.RootFS.Layers`: each layer's digest, bottom first.
    pub layers: Vec<String>,
    pub user: String,
    pub labels: BTreeMap<String, String>,
    /// Entrypoint then Cmd: the first word is the program.
    pub command: Vec<String>,
    pub path_var: String,
}

pub async fn inspect(docker: &Docker, tag: &str) -> Result<ImageFacts> {
    let image = docker
        .inspect_image(tag)
        .await
        .with_context(|| format!("no image {tag} (build it first: make images)"))?;
    let config = image.config.unwrap_or_default();
    let command = config
        .entrypoint
        .unwrap_or_default()
        .into_iter()
        .chain(config.cmd.unwrap_or_default())
        .collect();
    let path_var = config
        .env
        .unwrap_or_default()
        .iter()
        .find_map(|e| e.strip_prefix("PATH=").map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_PATH.to_owned());
    let layers = image.root_fs.and_then(|r| r.layers).unwrap_or_default();
    Ok(ImageFacts {
        id: image.id,
        size_bytes: image.size,
        layer_count: layers.len(),
        layers,
        user: config.user.unwrap_or_default(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        command,
        path_var,
    })
}

/// The `*_VERSION=` entries of an image's environment: official images
/// declare their toolchain so (`GOLANG_VERSION`, `RUST_VERSION`, ...).
pub async fn declared_versions(docker: &Docker, image: &str) -> Result<Vec<String>> {
    let inspect = docker.inspect_image(image).await?;
    Ok(inspect
        .config
        .and_then(|c| c.env)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            e.split_once('=')
                .is_some_and(|(k, _)| k.ends_with("_VERSION"))
        })
        .collect())
}
