//! A copy of the repository as a commit of it would hold it: what a build
//! from a clean clone sees, with the working tree's edits.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Copies the files git would put in a commit (tracked, and untracked ones
/// not ignored), as they are in the working tree at `root`, into `to`.
pub fn copy_tracked(root: &Path, to: &Path) -> io::Result<()> {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run git ls-files: {e}")))?;
    if !listed.status.success() {
        return Err(io::Error::other(format!(
            "git ls-files in {}: {}",
            root.display(),
            String::from_utf8_lossy(&listed.stderr).trim()
        )));
    }
    let files = listed
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()));
    for file in files {
        let from = root.join(&file);
        // Deleted in the working tree but not yet in the index: gone.
        if !from.is_file() {
            continue;
        }
        let dest = to.join(&file);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&from, &dest).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot copy {}: {e}", file.display()))
        })?;
    }
    Ok(())
}
