//! Thin helpers over the docker CLI for the image tests: every container a
//! test starts is removed when its guard drops, even when the test fails.

use std::process::Command;
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::{CommandExt, Outcome};

/// Runs `docker ARGS`; panics with the whole exchange unless it exits 0.
#[track_caller]
pub fn docker(args: &[&str]) -> Outcome {
    require_docker();
    Command::new("docker").args(args).outcome().expect_success()
}

/// Runs `docker ARGS` and returns the outcome, whatever the exit code.
pub fn docker_status(args: &[&str]) -> Outcome {
    require_docker();
    Command::new("docker").args(args).outcome()
}

/// A test that needs Docker fails when there is none: it is never skipped.
pub fn require_docker() {
    static CHECKED: Once = Once::new();
    CHECKED.call_once(|| {
        let out = Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]).output();
        match out {
            Ok(out) if out.status.success() => {}
            _ => panic!("no Docker engine answers: run `make bootstrap` (or start dockerd) before these tests"),
        }
    });
}

/// `docker image inspect -f FORMAT IMAGE`, trimmed; fails clearly when the
/// image was not built.
#[track_caller]
pub fn image_field(image: &str, format: &str) -> String {
    let out = docker_status(&["image", "inspect", "-f", format, image]);
    assert!(
        out.status.success(),
        "image {image} is missing: run `make images` first{out}"
    );
    out.stdout.trim().to_owned()
}

/// `docker inspect --format FORMAT OBJECT` (a container, image, network…),
/// trimmed; panics with the whole exchange when it fails.
#[track_caller]
pub fn inspect(object: &str, format: &str) -> String {
    docker(&["inspect", "--format", format, object])
        .stdout
        .trim()
        .to_owned()
}

/// A running container, removed on drop.
pub struct Container {
    pub id: String,
}

impl Container {
    /// `docker run -d ARGS`.
    #[track_caller]
    pub fn run(args: &[&str]) -> Container {
        let mut all = vec!["run", "-d", "--label", "rust-multi-stage.test=1"];
        all.extend_from_slice(args);
        Container {
            id: docker(&all).stdout.trim().to_owned(),
        }
    }

    pub fn field(&self, format: &str) -> String {
        inspect(&self.id, format)
    }

    /// The 127.0.0.1 port Docker published for the container's 8080.
    pub fn published_port(&self) -> u16 {
        let port =
            self.field(r#"{{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostPort}}"#);
        port.parse()
            .unwrap_or_else(|_| panic!("no published port for 8080: {port:?}"))
    }

    /// Polls `GET url` until it answers 200, for at most `limit`.
    pub fn wait_until_serving(&self, url: &str, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(response) = ureq::get(url).timeout(Duration::from_secs(1)).call() {
                if response.status() == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let logs = docker_status(&["logs", &self.id]);
        panic!("{url} did not answer 200 within {limit:?}; container logs:{logs}");
    }

    /// Polls the health status until `healthy`, for at most `limit`.
    pub fn wait_until_healthy(&self, limit: Duration) {
        let start = Instant::now();
        let mut status = String::new();
        while start.elapsed() < limit {
            status = self.field("{{.State.Health.Status}}");
            if status == "healthy" {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("container health is {status:?} after {limit:?}");
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.id]).output();
    }
}

/// A container of an image that serves TLS (who:rust-tls), given a
/// certificate made for it (benchkit::tls) by the image's variables, with
/// 8080 published on 127.0.0.1; removed on drop, then the certificate.
pub struct HttpsContainer {
    pub container: Container,
    client: crate::tls::Client,
    _certificate_dir: tempfile::TempDir,
}

impl HttpsContainer {
    /// `docker run -d` of `image` with the certificate, and `extra` options.
    #[track_caller]
    pub fn run(image: &str, extra: &[&str]) -> HttpsContainer {
        let certificate = crate::tls::Certificate::self_signed().unwrap();
        let dir = tempfile::tempdir().unwrap();
        certificate.write(dir.path()).unwrap();
        let mount = format!("{}:{}:ro", dir.path().display(), crate::tls::MOUNT);
        let mut args = vec!["-p", "127.0.0.1::8080", "-v", &mount];
        for variable in &crate::tls::ENV {
            args.extend(["-e", variable]);
        }
        args.extend_from_slice(extra);
        args.push(image);
        HttpsContainer {
            container: Container::run(&args),
            client: certificate.client().unwrap(),
            _certificate_dir: dir,
        }
    }

    /// `GET path` over TLS, the certificate checked: the status code.
    pub fn get(&self, path: &str) -> std::io::Result<u16> {
        let port = self.container.published_port();
        let stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        crate::tls::get(stream, self.client.clone(), path)
    }

    /// Polls `GET path` over TLS until it answers 200, for at most `limit`.
    pub fn wait_until_serving(&self, path: &str, limit: Duration) {
        let start = Instant::now();
        let mut last = Ok(0);
        while start.elapsed() < limit {
            last = self.get(path);
            if matches!(last, Ok(200)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let logs = docker_status(&["logs", &self.container.id]);
        panic!(
            "https {path} did not answer 200 within {limit:?} ({last:?}); container logs:{logs}"
        );
    }
}

/// An image a test built under its own tag, removed on drop.
pub struct TestImage {
    pub tag: String,
}

impl Drop for TestImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", &self.tag]).output();
    }
}

/// The image's labels, `{}` when it has none.
#[track_caller]
pub fn image_labels(image: &str) -> std::collections::BTreeMap<String, String> {
    let json = image_field(image, "{{json .Config.Labels}}");
    if json == "null" {
        return Default::default();
    }
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("labels of {image}: {e}: {json}"))
}

/// Entries `docker create` adds to every container's filesystem: not part
/// of the image.
const RUNTIME_ENTRIES: &[&str] = &[
    "/.dockerenv",
    "/dev/console",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/mtab",
    "/etc/resolv.conf",
];

/// The files (anything but directories) in an image, read with
/// `docker export` of a created, never started, container, less what
/// Docker adds to every container.
pub fn image_files(image: &str) -> Vec<String> {
    let id = docker(&["create", "--label", "rust-multi-stage.test=1", image])
        .stdout
        .trim()
        .to_owned();
    let container = Container { id };
    let script = format!("set -o pipefail; docker export {} | tar -tv", container.id);
    let out = Command::new("bash")
        .args(["-c", &script])
        .outcome()
        .expect_success();
    let mut files: Vec<String> = out
        .stdout
        .lines()
        .filter(|line| !line.starts_with('d'))
        .filter_map(|line| line.split_whitespace().nth(5))
        .map(|path| format!("/{}", path.trim_start_matches("./")))
        .filter(|path| !RUNTIME_ENTRIES.contains(&path.as_str()))
        .collect();
    files.sort();
    files
}

/// A tag prefix no other build or test run uses, e.g. `catalog-test-41-1732…/`.
pub fn unique_prefix(name: &str) -> String {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{name}-{}-{nonce}/", std::process::id())
}
