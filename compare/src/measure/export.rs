//! Reads `docker save` of one image as it streams (nothing lands on disk:
//! naive images are gigabytes). Each layer tar is read once, and that one
//! read both gzips it, to size what a registry would transfer, and lists
//! its files for [`Filesystem`].
//!
//! Both save formats are understood: `<id>/layer.tar` (Engine < 25) and
//! OCI `blobs/sha256/<digest>` (Engine 25+); `manifest.json` names the layers.
//!
//! A layer is measured once, ever: its facts are kept by its digest (see
//! [`Cache`]); an image whose layers are all known is not saved at all,
//! and a known layer in the stream is skipped, not gzipped again.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use bollard::Docker;
use flate2::write::GzEncoder;
use flate2::Compression;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::cache::Cache;
use super::filesystem::{normalize, Entry, Filesystem, Node};

/// What one layer tar holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerFacts {
    /// The layer tar gzipped at the default level, as `docker push` sends
    /// it (zlib-rs's gzip: see compare/README.md).
    pub compressed_bytes: u64,
    pub entries: Vec<Entry>,
}

pub struct ExportFacts {
    pub compressed_size_bytes: u64,
    pub filesystem: Filesystem,
    /// Layers whose facts an earlier run measured (from the cache), of `layers`.
    pub layers_earlier: usize,
    pub layers: usize,
}

#[derive(Deserialize)]
struct ManifestEntry {
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// The facts of `tag`, whose layers are `digests` (`.RootFS.Layers`, in
/// order): from the cache when every layer is known, else from its `docker
/// save` stream, each new layer kept in the cache.
pub async fn export(
    docker: &Docker,
    tag: &str,
    digests: &[String],
    cache: &Arc<Cache>,
) -> Result<ExportFacts> {
    let known: Option<Vec<_>> = digests.iter().map(|d| cache.layer(d)).collect();
    if let Some(known) = known.filter(|k| !k.is_empty()) {
        return Ok(assemble(
            known.iter().map(|k| (k.facts.as_ref(), k.earlier)),
        ));
    }
    let stream = docker
        .export_image(tag)
        .map_err(|e| io::Error::other(e.to_string()));
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let cache = cache.clone();
    let (tag, digests) = (tag.to_owned(), digests.to_vec());
    tokio::task::spawn_blocking(move || read_save(reader, &digests, &cache))
        .await
        .context("the export reader died")?
        .with_context(|| format!("cannot read `docker save {tag}`"))
}

/// The image of these layers, bottom first (and whether an earlier run measured each).
fn assemble<'a>(layers: impl Iterator<Item = (&'a LayerFacts, bool)>) -> ExportFacts {
    let mut facts = ExportFacts {
        compressed_size_bytes: 0,
        filesystem: Filesystem::default(),
        layers_earlier: 0,
        layers: 0,
    };
    for (layer, earlier) in layers {
        facts.compressed_size_bytes += layer.compressed_bytes;
        facts.filesystem.apply(&layer.entries);
        facts.layers += 1;
        facts.layers_earlier += usize::from(earlier);
    }
    facts
}

fn read_save(reader: impl Read, digests: &[String], cache: &Cache) -> Result<ExportFacts> {
    // By path in the stream: each layer's facts, and whether they are new.
    let mut layers: HashMap<String, (Arc<LayerFacts>, bool, bool)> = HashMap::new();
    let mut manifest: Option<Vec<ManifestEntry>> = None;
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if path == "manifest.json" {
            manifest = Some(serde_json::from_reader(&mut entry).context("bad manifest.json")?);
        } else if path.ends_with("/layer.tar") || path.starts_with("blobs/") {
            let facts = match cache.layer_at(&path) {
                Some(known) => (known.facts, known.earlier, false),
                // OCI blobs are configs and manifests too: those are not tars.
                None => match read_layer(&mut entry) {
                    Ok(facts) => (Arc::new(facts), false, true),
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
    let mut ordered = Vec::new();
    for (k, layer) in image.layers.iter().enumerate() {
        let (facts, earlier, new) = layers
            .get(layer)
            .ok_or_else(|| anyhow!("manifest.json names {layer}, absent from the stream"))?;
        // manifest.json lists the layers in .RootFS.Layers' order.
        if let (true, Some(digest)) = (*new, digests.get(k)) {
            if digests.len() == image.layers.len() {
                cache.put(digest, layer, facts.clone());
            }
        }
        ordered.push((facts.as_ref(), *earlier));
    }
    Ok(assemble(ordered.into_iter()))
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
        let cache = Cache::in_memory();
        let digests = ["sha256:abc".to_owned()];
        let facts = read_save(save.as_slice(), &digests, &cache).unwrap();
        assert_eq!(facts.filesystem.file_count(), 2);
        assert_eq!(facts.filesystem.elf_count(), 1);
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&layer).unwrap();
        assert_eq!(
            facts.compressed_size_bytes,
            gz.finish().unwrap().len() as u64
        );
        assert_eq!(facts.layers_earlier, 0);
        // Known now by its digest and its place in the stream.
        let known = cache.layer_at("abc/layer.tar").unwrap();
        assert_eq!(known.facts.compressed_bytes, facts.compressed_size_bytes);
        let again = read_save(save.as_slice(), &digests, &cache).unwrap();
        assert_eq!(again.filesystem.file_count(), 2);
    }
}
