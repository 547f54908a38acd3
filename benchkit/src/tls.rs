//! HTTPS for the who:rust-tls image: a self-signed certificate made at run
//! time (no key is ever committed), written where a container can read it,
//! and a GET that trusts that certificate alone. compare's start probe and
//! the image tests use both.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// The names the certificate is for: the server is always asked at 127.0.0.1.
const NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// Where a container sees the directory [`Certificate::write`] wrote
/// (mounted read-only), and the variables that point the image at its files.
pub const MOUNT: &str = "/tls";
pub const ENV: [&str; 2] = ["WHO_CERT=/tls/cert.pem", "WHO_KEY=/tls/key.pem"];

/// A client's TLS settings: what [`get`] connects with.
pub type Client = Arc<ClientConfig>;

/// A certificate and its key (rcgen's default: ECDSA P-256), in PEM.
pub struct Certificate {
    pub cert_pem: String,
    pub key_pem: String,
    der: CertificateDer<'static>,
}

/// Where [`Certificate::write`] put the files: cert.pem and key.pem, as
/// [`ENV`] names them under [`MOUNT`].
pub struct Files {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Certificate {
    /// A new self-signed certificate for 127.0.0.1 and localhost.
    pub fn self_signed() -> Result<Certificate, String> {
        let names = NAMES.map(str::to_owned).to_vec();
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|e| format!("cannot make a test certificate: {e}"))?;
        Ok(Certificate {
            cert_pem: made.cert.pem(),
            key_pem: made.signing_key.serialize_pem(),
            der: made.cert.der().clone(),
        })
    }

    /// Writes cert.pem and key.pem into `dir`, readable by every user (the
    /// images run as 65532, not as the user who runs this), with `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<Files> {
        use std::os::unix::fs::PermissionsExt;
        let files = Files {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.cert, &self.cert_pem)?;
        std::fs::write(&files.key, &self.key_pem)?;
        for (path, mode) in [(dir, 0o755), (&files.cert, 0o644), (&files.key, 0o644)] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(files)
    }

    /// A client that trusts this certificate and nothing else.
    pub fn client(&self) -> Result<Client, String> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.der.clone())
            .map_err(|e| format!("cannot trust the test certificate: {e}"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("no TLS versions: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// One HTTP/1.1 GET of `path` over TLS on `stream` (to 127.0.0.1), the
/// certificate checked by `client`; the status code.
pub fn get(stream: TcpStream, client: Client, path: &str) -> std::io::Result<u16> {
    let name = ServerName::try_from(NAMES[0]).map_err(std::io::Error::other)?;
    let connection = ClientConnection::new(client, name).map_err(std::io::Error::other)?;
    let mut tls = StreamOwned::new(connection, stream);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        NAMES[0]
    )?;
    tls.flush()?;
    let mut head = [0u8; 12];
    tls.read_exact(&mut head)?;
    status_code(&head).ok_or_else(|| {
        let text = String::from_utf8_lossy(&head).into_owned();
        std::io::Error::other(format!("not an HTTP answer: {text:?}"))
    })
}

/// The status code of an HTTP/1.x status line's first 12 bytes, over TLS
/// or not.
pub fn status_code(head: &[u8]) -> Option<u16> {
    std::str::from_utf8(head)
        .ok()?
        .strip_prefix("HTTP/1.")?
        .get(2..5)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_certificate_is_pem_and_its_files_are_readable_by_anyone() {
        use std::os::unix::fs::PermissionsExt;
        let certificate = Certificate::self_signed().unwrap();
        assert!(certificate
            .cert_pem
            .starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(certificate.key_pem.contains("PRIVATE KEY-----"));
        let dir = tempfile::tempdir().unwrap();
        let files = certificate.write(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&files.cert).unwrap(),
            certificate.cert_pem
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(dir.path()), mode(&files.key)), (0o755, 0o644));
    }

    #[test]
    fn reads_status_lines() {
        assert_eq!(status_code(b"HTTP/1.1 200 "), Some(200));
        assert_eq!(status_code(b"HTTP/1.0 404 "), Some(404));
        assert_eq!(status_code(b"\x15\x03\x03\x00\x02\x02\x28...."), None);
    }
}
