//! The run's test certificate, for the images that serve TLS
//! (who:rust-tls): made once at start (benchkit::tls, rcgen), mounted
//! read-only into each of their containers, removed with the run. No key
//! is kept anywhere after it.

use std::path::Path;

use anyhow::{Context, Result};
use benchkit::tls;

pub struct TestCertificate {
    dir: tempfile::TempDir,
    client: tls::Client,
}

impl TestCertificate {
    pub fn new() -> Result<TestCertificate> {
        let certificate = tls::Certificate::self_signed().map_err(anyhow::Error::msg)?;
        let dir = tempfile::Builder::new()
            .prefix("compare-tls-")
            .tempdir()
            .context("cannot make a directory for the test certificate")?;
        certificate
            .write(dir.path())
            .context("cannot write the test certificate")?;
        let client = certificate.client().map_err(anyhow::Error::msg)?;
        Ok(TestCertificate { dir, client })
    }

    /// The directory with cert.pem and key.pem, to mount.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A client that trusts the certificate alone.
    pub fn client(&self) -> tls::Client {
        self.client.clone()
    }
}
