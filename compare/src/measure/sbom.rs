//! The packages a software-bill-of-materials scanner finds in an image:
//! `syft docker:IMAGE -o json` (read from the local engine, nothing
//! pulled), counting its artifacts. Optional: without syft on PATH the count
//! is null, with no error; a syft that fails is an error of the image.

use std::process::Stdio;

use anyhow::{bail, Context, Result};
use tokio::process::Command;

/// `syft --version` (`syft 1.18.1`), or None when syft is not installed.
pub async fn version() -> Option<String> {
    let output = Command::new("syft")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The number of packages syft lists for `image`, or `None` when syft is
/// not installed.
pub async fn package_count(image: &str) -> Result<Option<usize>> {
    let output = match Command::new("syft")
        .args(["-q", "-o", "json", &format!("docker:{image}")])
        .stdin(Stdio::null())
        .output()
        .await
    {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        other => other.context("cannot start syft")?,
    };
    if !output.status.success() {
        bail!(
            "syft docker:{image} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    count(&output.stdout).map(Some)
}

/// The length of the `artifacts` array of syft's JSON.
fn count(json: &[u8]) -> Result<usize> {
    let sbom: serde_json::Value = serde_json::from_slice(json).context("syft's JSON")?;
    match sbom.get("artifacts").and_then(|a| a.as_array()) {
        Some(artifacts) => Ok(artifacts.len()),
        None => bail!("syft's JSON has no artifacts array"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_artifacts() {
        let json = br#"{"artifacts":[{"name":"hyper"},{"name":"tokio"}],"source":{}}"#;
        assert_eq!(count(json).unwrap(), 2);
        assert_eq!(count(br#"{"artifacts":[]}"#).unwrap(), 0);
        assert!(count(br#"{"source":{}}"#).is_err());
        assert!(count(b"not json").is_err());
    }
}
