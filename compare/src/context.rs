//! The build context as the engine's `/build` endpoint wants it: a tar of the
//! repository root without what `.dockerignore` leaves out.
//!
//! The warm rebuild needs a copy of the context with one source file changed.
//! That copy lives only in the tar: `overrides` swaps a file's bytes on the
//! way in, so the working tree is never touched.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::dockerignore::DockerIgnore;

/// File contents that replace the working tree's, by `/`-separated relative path.
pub type Overrides = BTreeMap<String, Vec<u8>>;

/// The tar of `root`. Headers are deterministic (no mtimes, owner root), so
/// equal trees give equal tars and the engine's cache sees only content.
pub fn tar_context(root: &Path, overrides: &Overrides) -> Result<Vec<u8>> {
    let ignore = DockerIgnore::load(root)?;
    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    add_dir(&mut tar, root, "", &ignore, overrides)?;
    tar.into_inner().context("cannot finish the context tar")
}

fn add_dir(
    tar: &mut tar::Builder<Vec<u8>>,
    root: &Path,
    rel_dir: &str,
    ignore: &DockerIgnore,
    overrides: &Overrides,
) -> Result<()> {
    let dir = root.join(rel_dir);
    let mut entries = fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .collect::<Result<Vec<_>, _>>()?;
    // Sorted, so that the same tree always gives the same tar.
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let rel = if rel_dir.is_empty() {
            name.into_owned()
        } else {
            format!("{rel_dir}/{name}")
        };
        let ignored = ignore.is_ignored(&rel);
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            // Skipping an ignored directory spares walking target/; only a
            // `!` rule could bring something inside it back.
            if ignored && !ignore.has_reincludes() {
                continue;
            }
            if !ignored {
                tar.append_dir(&rel, entry.path())?;
            }
            add_dir(tar, root, &rel, ignore, overrides)?;
        } else if ignored {
            continue;
        } else if let Some(bytes) = overrides.get(&rel) {
            let mut header = tar::Header::new_gnu();
            header.set_metadata_in_mode(&entry.metadata()?, tar::HeaderMode::Deterministic);
            header.set_size(bytes.len() as u64);
            tar.append_data(&mut header, &rel, bytes.as_slice())?;
        } else {
            tar.append_path_with_name(entry.path(), &rel)
                .with_context(|| format!("cannot add {rel} to the context"))?;
        }
    }
    Ok(())
}

/// The source with one comment line appended, in the file's own syntax.
pub fn with_comment_line(path: &str, source: &[u8]) -> Vec<u8> {
    let comment = if path.ends_with(".py") { "#" } else { "//" };
    let mut changed = source.to_vec();
    if !changed.ends_with(b"\n") && !changed.is_empty() {
        changed.push(b'\n');
    }
    changed.extend_from_slice(format!("{comment} compare: warm rebuild\n").as_bytes());
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar_bytes: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(tar_bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn honours_dockerignore_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join(".dockerignore"), "target\n*.tmp\n").unwrap();
        fs::create_dir_all(root.join("target/release")).unwrap();
        fs::write(root.join("target/release/big"), "x").unwrap();
        fs::create_dir_all(root.join("src")).unwrap();
        fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
        fs::write(root.join("a.tmp"), "x").unwrap();

        let changed = with_comment_line("src/main.rs", b"fn main() {}\n");
        let overrides = Overrides::from([("src/main.rs".to_owned(), changed.clone())]);
        let bytes = tar_context(root, &overrides).unwrap();
        assert_eq!(names(&bytes), [".dockerignore", "src", "src/main.rs"]);

        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut main = archive.entries().unwrap().nth(2).unwrap().unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut main, &mut text).unwrap();
        assert_eq!(text.as_bytes(), changed);
        assert!(text.ends_with("// compare: warm rebuild\n"));
        assert_eq!(
            fs::read_to_string(root.join("src/main.rs")).unwrap(),
            "fn main() {}\n",
            "the working tree stays as it was"
        );
    }
}
