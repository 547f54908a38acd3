//! Reads `docker save` of one image as it streams (nothing lands on disk:
//! naive images are gigabytes). Each layer tar is read once, and that one
//! read both gzips it, to size what a registry would transfer, and lists
//! its files for [`Filesystem`].
//!
//! Both save formats are understood: `<id>/layer.tar` (Engine < 25) and
//! OCI `blobs/sha256/<digest>` (Engine 25+); `manifest.json` names the layers.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context, Result};
use bollard::Docker;
use flate2::write::GzEncoder;
use flate2::Compression;
use futures_util::TryStreamExt;
use serde::Deserialize;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::filesystem::{normalize, Entry, Filesystem, Node};

/// What one layer tar holds.
#[derive(Debug, Clone)]
pub struct LayerFacts {
    /// The layer tar gzipped at the default level, as `docker push` sends it.
    pub compressed_bytes: u64,
    pub entries: Vec<Entry>,
}

/// Layers already read in this run, by their path in the save stream and
/// size: the naive images share gigabytes of base layers, gzipped once.
pub type LayerCache = Arc<Mutex<HashMap<(String, u64), LayerFacts>>>;

pub struct ExportFacts {
    pub compressed_size_bytes: u64,
    pub filesystem: Filesystem,
}

#[derive(Deserialize)]
struct ManifestEntry {
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

pub async fn export(docker: &Docker, tag: &str, cache: &LayerCache) -> Result<ExportFacts> {
    let stream = docker
        .export_image(tag)
        .map_err(|e| io::Error::other(e.to_string()));
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let cache = cache.clone();
    let tag = tag.to_owned();
    tokio::task::spawn_blocking(move || read_save(reader, &cache))
        .await
        .context("the export reader died")?
        .with_context(|| format!("cannot read `docker save {tag}`"))
}

fn read_save(reader: impl Read, cache: &LayerCache) -> Result<ExportFacts> {
    let mut layers: HashMap<String, LayerFacts> = HashMap::new();
    let mut manifest: Option<Vec<ManifestEntry>> = None;
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let size = entry.size();
        if path == "manifest.json" {
            manifest = Some(serde_json::from_reader(&mut entry).context("bad manifest.json")?);
        } else if path.ends_with("/layer.tar") || path.starts_with("blobs/") {
            let key = (path.clone(), size);
            let cached = cache.lock().expect("cache lock").get(&key).cloned();
            let facts = match cached {
                Some(facts) => facts,
                // OCI blobs are configs and manifests too: those are not tars.
                None => match read_layer(&mut entry) {
                    Ok(facts) => {
                        cache.lock().expect("cache lock").insert(key, facts.clone());
                        facts
                    }
                    Err(_) if path.starts_with("blobs/") => continue,
                    Err(e) => return Err(e).with_context(|| format!("bad layer {path}")),
                },
            };
            layers.insert(path, facts);
        }
    }
    let manifest = manifest.ok_or_else(|| anyhow!("the save stream has no manifest.json"))?;
    let image = manifest
        .first()
        .ok_or_else(|| anyhow!("manifest.json lists no image"))?;
    let mut filesystem = Filesystem::default();
    let mut compressed_size_bytes = 0;
    for layer in &image.layers {
        let facts = layers
            .get(layer)
            .ok_or_else(|| anyhow!("manifest.json names {layer}, absent from the stream"))?;
        compressed_size_bytes += facts.compressed_bytes;
        filesystem.apply(&facts.entries);
    }
    Ok(ExportFacts {
        compressed_size_bytes,
        filesystem,
    })
}

/// Lists the layer's files while every byte read also goes to gzip.
fn read_layer(layer: &mut impl Read) -> Result<LayerFacts> {
    let gzip = GzEncoder::new(CountingSink::default(), Compression::default());
    let mut tee = Tee {
        inner: layer,
        copy: gzip,
    };
    let mut entries = Vec::new();
    {
        let mut archive = tar::Archive::new(&mut tee);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = normalize(&entry.path()?.to_string_lossy());
            let node = node_of(&mut entry)?;
            entries.push(Entry { path, node });
        }
    }
    // The end-of-archive blocks and padding are part of what is pushed.
    io::copy(&mut tee, &mut io::sink())?;
    let compressed_bytes = tee.copy.finish()?.0;
    Ok(LayerFacts {
        compressed_bytes,
        entries,
    })
}

fn node_of<R: Read>(entry: &mut tar::Entry<R>) -> Result<Node> {
    Ok(match entry.header().entry_type() {
        tar::EntryType::Directory => Node::Dir,
        tar::EntryType::Symlink => Node::Symlink(link_of(entry)?),
        tar::EntryType::Link => Node::Hardlink(normalize(&link_of(entry)?)),
        tar::EntryType::Regular | tar::EntryType::Continuous => {
            let size = entry.size();
            let mut magic = [0u8; 4];
            let elf = size >= 4 && entry.read_exact(&mut magic).is_ok() && magic == *b"\x7fELF";
            Node::File { size, elf }
        }
        _ => Node::Other,
    })
}

fn link_of<R: Read>(entry: &tar::Entry<R>) -> Result<String> {
    Ok(entry
        .link_name()?
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default())
}

/// A reader that hands a copy of every byte read to `copy`.
struct Tee<R, W> {
    inner: R,
    copy: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Counts what is written and keeps none of it.
#[derive(Default)]
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o755);
            builder.append_data(&mut header, path, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn reads_a_legacy_save_stream() {
        let layer = layer_tar(&[("app", b"\x7fELF and more"), ("etc/x", b"text")]);
        let mut save = tar::Builder::new(Vec::new());
        for (path, data) in [
            ("abc/layer.tar", layer.as_slice()),
            (
                "manifest.json",
                br#"[{"Config":"c.json","Layers":["abc/layer.tar"]}]"#,
            ),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            save.append_data(&mut header, path, data).unwrap();
        }
        let save = save.into_inner().unwrap();
        let cache = LayerCache::default();
        let facts = read_save(save.as_slice(), &cache).unwrap();
        assert_eq!(facts.filesystem.file_count(), 2);
        assert_eq!(facts.filesystem.elf_count(), 1);
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&layer).unwrap();
        assert_eq!(
            facts.compressed_size_bytes,
            gz.finish().unwrap().len() as u64
        );
        assert_eq!(cache.lock().unwrap().len(), 1);
    }
}
