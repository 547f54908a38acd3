//! What depends only on content, measured once and kept between runs:
//! a layer's compressed size and file list by its digest (the `diff_id`
//! of `.RootFS.Layers`: the sha256 of its uncompressed tar, which is what
//! is gzipped and listed), and syft's package count by the image's layers
//! (the image id changes with every build's timestamp, its files need not).
//! On disk under `target/compare-cache/` (ignored by git, kept by `cargo
//! clean`-free runs); `--fresh` reads none of it and writes it anew.
//!
//! A figure taken from here is one measured by an earlier run on the same
//! bytes: the report marks it (`reused`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::export::LayerFacts;

/// The default place, under the workspace's ignored `target/`.
pub const DIR: &str = "target/compare-cache";

pub struct Cache {
    /// None: nothing kept on disk (unit tests).
    dir: Option<PathBuf>,
    /// false with `--fresh`: what is on disk is not read.
    read: bool,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Every layer known so far, by digest.
    layers: HashMap<String, Arc<LayerFacts>>,
    /// Layers read from disk: measured by an earlier run.
    earlier: HashSet<String>,
    /// A layer's path in a `docker save` stream (`<v1 id>/layer.tar`, the
    /// id derived from the layer chain) to its digest: a layer seen before
    /// is skipped in the stream, not gzipped again.
    aliases: HashMap<String, String>,
    /// syft's counts taken by this run, by file name.
    sboms: HashMap<String, Sbom>,
}

/// A layer's facts and whether an earlier run measured them.
pub struct Known {
    pub facts: Arc<LayerFacts>,
    pub earlier: bool,
}

#[derive(Clone, Serialize, Deserialize)]
struct Sbom {
    /// The image's layers, in order: the key, checked in full.
    layers: Vec<String>,
    /// `syft --version`: another syft may count otherwise.
    syft: String,
    package_count: usize,
}

impl Cache {
    /// A cache kept in `dir`; `fresh`: ignore what is there.
    pub fn on_disk(dir: PathBuf, fresh: bool) -> Self {
        let cache = Self {
            dir: Some(dir),
            read: !fresh,
            inner: Mutex::default(),
        };
        if cache.read {
            if let Some(aliases) = cache.load::<HashMap<String, String>>("aliases.json") {
                cache.lock().aliases = aliases;
            }
        }
        cache
    }

    /// A cache of this run only.
    #[cfg(test)]
    pub fn in_memory() -> Self {
        Self {
            dir: None,
            read: false,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The layer with this digest, if this run or (unless fresh) an earlier one read it.
    pub fn layer(&self, digest: &str) -> Option<Known> {
        {
            let inner = self.lock();
            if let Some(facts) = inner.layers.get(digest) {
                return Some(Known {
                    facts: facts.clone(),
                    earlier: inner.earlier.contains(digest),
                });
            }
        }
        if !self.read {
            return None;
        }
        let facts: Arc<LayerFacts> = Arc::new(self.load(&layer_file(digest))?);
        let mut inner = self.lock();
        inner.layers.insert(digest.to_owned(), facts.clone());
        inner.earlier.insert(digest.to_owned());
        Some(Known {
            facts,
            earlier: true,
        })
    }

    /// The layer at `path` of a save stream, if known: by its alias, or by
    /// the digest an OCI layout names it with (`blobs/sha256/<hex>`).
    pub fn layer_at(&self, path: &str) -> Option<Known> {
        let digest = match path.strip_prefix("blobs/sha256/") {
            Some(hex) => format!("sha256:{hex}"),
            None => self.lock().aliases.get(path)?.clone(),
        };
        self.layer(&digest)
    }

    /// A layer just measured, at `path` of the save stream.
    pub fn put(&self, digest: &str, path: &str, facts: Arc<LayerFacts>) {
        let aliases = {
            let mut inner = self.lock();
            inner.layers.insert(digest.to_owned(), facts.clone());
            inner.aliases.insert(path.to_owned(), digest.to_owned());
            inner.aliases.clone()
        };
        self.store(&layer_file(digest), &*facts);
        self.store("aliases.json", &aliases);
    }

    /// syft's count for an image of these layers, if this run or (unless
    /// fresh) an earlier one took it; and whether an earlier one did.
    pub fn sbom(&self, layers: &[String], syft: &str) -> Option<(usize, bool)> {
        if layers.is_empty() {
            return None;
        }
        let name = sbom_file(layers);
        let this_run = self.lock().sboms.get(&name).cloned();
        let (sbom, earlier) = match this_run {
            Some(sbom) => (sbom, false),
            None if self.read => (self.load::<Sbom>(&name)?, true),
            None => return None,
        };
        (sbom.layers == layers && sbom.syft == syft).then_some((sbom.package_count, earlier))
    }

    pub fn put_sbom(&self, layers: &[String], syft: &str, package_count: usize) {
        if layers.is_empty() {
            return;
        }
        let sbom = Sbom {
            layers: layers.to_vec(),
            syft: syft.to_owned(),
            package_count,
        };
        let name = sbom_file(layers);
        self.store(&name, &sbom);
        self.lock().sboms.insert(name, sbom);
    }

    fn load<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Option<T> {
        let path = self.dir.as_ref()?.join(name);
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Written whole or not at all (a temporary file renamed); a cache
    /// that cannot be written is no error of the measuring.
    fn store<T: Serialize + ?Sized>(&self, name: &str, value: &T) {
        let Some(dir) = &self.dir else { return };
        let path = dir.join(name);
        let written = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
            let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
            std::fs::write(&tmp, serde_json::to_vec(value)?)?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = written {
            eprintln!("compare: cannot keep {} in the cache: {e}", path.display());
        }
    }
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// Under the compressor's name: another gzip gives other sizes (miniz_oxide,
/// compare's before zlib-rs, wrote 1.4% fewer bytes for who:rust-naive), so
/// a layer measured by it is measured again, not mixed in.
fn layer_file(digest: &str) -> String {
    format!("layers-zlib-rs/{}.json", hex(digest))
}

/// Named by the top layer and the depth: the file holds the whole list,
/// compared on reading.
fn sbom_file(layers: &[String]) -> String {
    let top = layers.last().map_or("", |l| hex(l));
    format!("sbom/{top}-{}.json", layers.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(bytes: u64) -> Arc<LayerFacts> {
        Arc::new(LayerFacts {
            compressed_bytes: bytes,
            entries: Vec::new(),
        })
    }

    #[test]
    fn kept_on_disk_read_back_by_a_later_run_unless_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let first = Cache::on_disk(dir.path().to_owned(), false);
        assert!(first.layer("sha256:aa").is_none());
        first.put("sha256:aa", "v1/layer.tar", facts(42));
        let known = first.layer("sha256:aa").unwrap();
        assert!(!known.earlier, "measured by this run");
        first.put_sbom(&["sha256:aa".to_owned()], "syft 1", 7);

        let second = Cache::on_disk(dir.path().to_owned(), false);
        let known = second.layer_at("v1/layer.tar").unwrap();
        assert_eq!((known.facts.compressed_bytes, known.earlier), (42, true));
        assert_eq!(
            first.sbom(&["sha256:aa".to_owned()], "syft 1"),
            Some((7, false))
        );
        assert_eq!(
            second.sbom(&["sha256:aa".to_owned()], "syft 1"),
            Some((7, true))
        );
        assert_eq!(second.sbom(&["sha256:aa".to_owned()], "syft 2"), None);
        assert_eq!(
            second.sbom(&["sha256:bb".to_owned(), "sha256:aa".to_owned()], "syft 1"),
            None
        );

        let fresh = Cache::on_disk(dir.path().to_owned(), true);
        assert!(fresh.layer("sha256:aa").is_none());
        assert!(fresh.layer_at("v1/layer.tar").is_none());
        assert_eq!(fresh.sbom(&["sha256:aa".to_owned()], "syft 1"), None);
    }
}
