//! deploy/whoami-compose.yaml, traefik's quick-start with who:rust in
//! whoami's place, as a user runs it without a traefik image: `up` starts
//! two healthy replicas behind the service name, and the `client` service
//! hears both answer whoami's text page with the name it set.
//!
//! Needs the who:rust image (`make images`; `WHO_IMAGE` names another
//! build) and a busybox image for the client (scripts/stand-ins.sh makes
//! standin/busybox). Without Docker it fails; it never skips.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use testkit::docker::{docker, docker_status};
use testkit::{CommandExt, Outcome};

const REPLICAS: usize = 2;
const HEALTHY_LIMIT: Duration = Duration::from_secs(60);
const CLIENT_IMAGES: &[&str] = &["standin/busybox:1.37", "busybox:1.37", "busybox:latest"];

fn image() -> String {
    std::env::var("WHO_IMAGE").unwrap_or_else(|_| "who:rust".to_owned())
}

fn client_image() -> &'static str {
    CLIENT_IMAGES
        .iter()
        .copied()
        .find(|image| docker_status(&["image", "inspect", image]).status.success())
        .unwrap_or_else(|| panic!("none of {CLIENT_IMAGES:?} is here: run scripts/stand-ins.sh"))
}

/// A compose project of deploy/whoami-compose.yaml, taken down on drop.
struct Project {
    name: String,
    client_image: &'static str,
}

impl Project {
    fn compose(&self, args: &[&str]) -> Outcome {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/whoami-compose.yaml");
        Command::new("docker-compose")
            .args(["--file", file.to_str().expect("UTF-8 path")])
            .args(["--project-name", &self.name])
            .args(args)
            .env("WHO_IMAGE", image())
            .env("CLIENT_IMAGE", self.client_image)
            .outcome()
    }

    fn wait_until_healthy(&self) {
        let start = Instant::now();
        let mut states = Vec::new();
        while start.elapsed() < HEALTHY_LIMIT {
            let ids = self.compose(&["ps", "--quiet", "whoami"]).expect_success();
            states = ids
                .stdout
                .split_whitespace()
                .map(|id| {
                    docker(&["inspect", "--format", "{{.State.Health.Status}}", id])
                        .stdout
                        .trim()
                        .to_owned()
                })
                .collect();
            if states.len() == REPLICAS && states.iter().all(|s| s == "healthy") {
                return;
            }
            sleep(Duration::from_millis(500));
        }
        panic!(
            "health {states:?} after {HEALTHY_LIMIT:?}{}",
            self.compose(&["ps"])
        );
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.compose(&[
            "--profile",
            "client",
            "down",
            "--volumes",
            "--timeout",
            "10",
        ]);
    }
}

#[test]
fn the_quick_start_with_who_rust_runs_two_replicas_that_a_client_reaches_by_name() {
    let image = image();
    assert!(
        docker_status(&["image", "inspect", &image])
            .status
            .success(),
        "image {image} is missing: run `make images` first"
    );
    // compose 1.29 keeps only [a-z0-9] of a project name.
    let project = Project {
        name: format!("whoamiquickstart{}", std::process::id()),
        client_image: client_image(),
    };
    project.compose(&["up", "--detach"]).expect_success();
    project.wait_until_healthy();

    // Docker's DNS hands the client the replicas in turn; a few runs see both.
    let mut hostnames = BTreeSet::new();
    for _ in 0..5 {
        let out = project.compose(&["run", "--rm", "client"]).expect_success();
        assert!(
            out.stdout.contains("Name: quick-start\n"),
            "WHOAMI_NAME was not read{out}"
        );
        for line in out.stdout.lines() {
            if let Some(hostname) = line.strip_prefix("Hostname: ") {
                hostnames.insert(hostname.trim().to_owned());
            }
        }
        if hostnames.len() == REPLICAS {
            break;
        }
    }
    assert_eq!(
        hostnames.len(),
        REPLICAS,
        "the client heard {hostnames:?}, expected {REPLICAS} replicas"
    );
}
