//! The linux/arm64 images (the catalog's `-arm64` variants): built for
//! arm64 on this amd64 machine, static, and run here through
//! qemu-user-static (registered with binfmt_misc by `make bootstrap`). The
//! image tests run them as they run the amd64 ones (`/who` answers the
//! hostname, hello prints, simple-script shows its file); these check what
//! is particular to them, and a multi-arch manifest list in a real registry.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::catalog;
use testkit::docker::{docker, docker_status, image_field, Container, HttpsContainer};
use testkit::{http_get, CommandExt};

/// Every arm64 image of docker/images.tsv.
fn arm64_images() -> Vec<catalog::CatalogImage> {
    let images: Vec<_> = catalog::images()
        .into_iter()
        .filter(|image| image.platform() == "linux/arm64")
        .collect();
    assert!(!images.is_empty(), "no arm64 image in docker/images.tsv");
    images
}

/// Every multi-stage image (amd64, not naive, Rust or Go) has its arm64
/// twin in the catalog, built from the same Dockerfile and stage.
#[test]
fn every_multi_stage_rust_and_go_image_has_an_arm64_twin() {
    let all = catalog::images();
    let arm64 = arm64_images();
    for image in &all {
        let multi_stage_rust_or_go = !image.is_naive()
            && image.platform() == "linux/amd64"
            && (image.language == "rust" || image.language == "go");
        if multi_stage_rust_or_go {
            let twin = format!("{}-arm64", image.tag);
            let found = arm64.iter().find(|i| i.tag == twin);
            let found = found.unwrap_or_else(|| panic!("{} has no {twin} row", image.tag));
            assert_eq!(
                (&found.dockerfile, &found.stage, found.kind),
                (&image.dockerfile, &image.stage, image.kind),
                "{twin}"
            );
        }
    }
}

#[test]
fn arm64_images_say_linux_arm64() {
    for image in arm64_images() {
        let platform = image_field(&image.tag, "{{.Os}}/{{.Architecture}}");
        assert_eq!(platform, "linux/arm64", "{}", image.tag);
    }
}

/// The ELF header's machine field (at byte 18, little-endian), and whether
/// a program header is PT_INTERP (a dynamic loader wanted).
fn elf_machine_and_interp(bytes: &[u8]) -> (u16, bool) {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(bytes[4], 2, "not a 64-bit ELF file");
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
    let interp = (0..phnum as usize).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) == 3
    });
    (u16_at(18), interp)
}

const EM_AARCH64: u16 = 183;

#[test]
fn arm64_images_hold_static_aarch64_binaries() {
    for image in arm64_images() {
        let tag = &image.tag;
        image_field(tag, "{{.Id}}");
        let entrypoint = image_field(tag, "{{index .Config.Entrypoint 0}}");
        let id = docker(&["create", "--label", "rust-multi-stage.test=1", tag])
            .stdout
            .trim()
            .to_owned();
        let container = Container { id };
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("binary");
        docker(&[
            "cp",
            &format!("{}:{entrypoint}", container.id),
            copy.to_str().unwrap(),
        ]);
        let (machine, interp) = elf_machine_and_interp(&std::fs::read(&copy).unwrap());
        assert_eq!(machine, EM_AARCH64, "{tag}: {entrypoint} is not aarch64");
        assert!(!interp, "{tag}: {entrypoint} wants a dynamic loader");
    }
}

#[test]
fn qemu_aarch64_is_registered_so_containers_run_arm64_binaries() {
    let registered = Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64");
    let entry = std::fs::read_to_string(registered).unwrap_or_default();
    assert!(
        entry.starts_with("enabled") && entry.contains("flags: ") && entry.contains('F'),
        "qemu-aarch64 is not registered with binfmt_misc (with the F flag, for containers): \
         run `make bootstrap`; {registered:?} says {entry:?}"
    );
}

/// ring's aarch64 C and assembly (compiled by clang in the builder) at
/// work: a handshake and a request over HTTPS, emulated.
#[test]
fn who_rust_tls_arm64_serves_https_with_a_mounted_certificate() {
    let image =
        std::env::var("WHO_TLS_ARM64_IMAGE").unwrap_or_else(|_| "who:rust-tls-arm64".to_owned());
    let https = HttpsContainer::run(&image, &[]);
    https.wait_until_serving("/who", Duration::from_secs(30));
    assert_eq!(https.get("/health").unwrap(), 200);
}

/// A free port on 127.0.0.1 (bound, then let go for the registry to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's docker-registry, serving from a temporary directory on
/// 127.0.0.1 (which Docker treats as an insecure registry it may use over
/// plain HTTP); killed, with its storage removed, on drop.
struct Registry {
    child: Child,
    address: String,
    dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let address = format!("127.0.0.1:{}", free_port());
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                dir.path().join("storage").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            // A file, not a pipe: its access log would fill a pipe nobody reads.
            .stderr(std::fs::File::create(dir.path().join("registry.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start docker-registry ({e}): run `make bootstrap`"));
        let mut registry = Registry {
            child,
            address,
            dir,
        };
        registry.wait_until_serving(Duration::from_secs(20));
        registry
    }

    fn wait_until_serving(&mut self, limit: Duration) {
        let start = Instant::now();
        let url = format!("http://{}/v2/", self.address);
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(self.dir.path().join("registry.log"));
                panic!(
                    "docker-registry exited ({status}): {}",
                    log.unwrap_or_default()
                );
            }
            if ureq::get(&url)
                .timeout(Duration::from_secs(1))
                .call()
                .is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("docker-registry did not answer {url} within {limit:?}");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Tags made in the daemon for the registry, removed on drop.
struct Tags(Vec<String>);

impl Drop for Tags {
    fn drop(&mut self) {
        for tag in &self.0 {
            let _ = Command::new("docker").args(["rmi", tag]).output();
        }
    }
}

/// `docker manifest ARGS`, with its own client config directory (where the
/// CLI keeps manifest lists it made: removed with it); experimental on the
/// 20.10 CLI, which needs this variable, plain on later ones.
fn docker_manifest(config: &Path, args: &[&str]) -> String {
    Command::new("docker")
        .env("DOCKER_CLI_EXPERIMENTAL", "enabled")
        .env("DOCKER_CONFIG", config)
        .arg("manifest")
        .args(args)
        .outcome()
        .expect_success()
        .stdout
}

#[test]
fn who_rust_goes_to_a_registry_as_one_manifest_list_for_amd64_and_arm64() {
    image_field("who:rust", "{{.Id}}");
    image_field("who:rust-arm64", "{{.Id}}");
    let registry = Registry::start();
    let repository = format!("{}/who", registry.address);
    let (amd64, arm64, list) = (
        format!("{repository}:rust-amd64"),
        format!("{repository}:rust-arm64"),
        format!("{repository}:rust"),
    );
    let tags = Tags(vec![amd64.clone(), arm64.clone(), list.clone()]);
    for (local, remote) in [("who:rust", &amd64), ("who:rust-arm64", &arm64)] {
        docker(&["tag", local, remote]);
        docker(&["push", remote]);
    }

    let config = tempfile::tempdir().unwrap();
    docker_manifest(
        config.path(),
        &["create", "--insecure", &list, &amd64, &arm64],
    );
    docker_manifest(config.path(), &["push", "--insecure", &list]);
    let inspected: Value = serde_json::from_str(&docker_manifest(
        config.path(),
        &["inspect", "--insecure", &list],
    ))
    .unwrap();
    let mut platforms: Vec<String> = inspected["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("not a manifest list: {inspected}"))
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);

    // Pulled back by the list's name, the engine picks its own platform's
    // image, which runs and answers.
    for tag in &tags.0 {
        let _ = docker_status(&["rmi", tag]);
    }
    docker(&["pull", &list]);
    assert_eq!(image_field(&list, "{{.Architecture}}"), "amd64");
    let container = Container::run(&["-p", "127.0.0.1::8080", &list]);
    let base = format!("http://127.0.0.1:{}", container.published_port());
    container.wait_until_serving(&format!("{base}/who"), Duration::from_secs(20));
    let hostname = container.field("{{.Config.Hostname}}");
    assert_eq!(http_get(&format!("{base}/who")), (200, hostname));
    drop(container);
    drop(tags);
    drop(registry);
}
