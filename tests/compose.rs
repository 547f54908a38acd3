//! deploy/compose.yaml as a user runs it: `up` starts three healthy
//! replicas, and each answers /who with its own hostname on its 127.0.0.1
//! port. Works with docker-compose 1.29 or `docker compose` v2.
//!
//! Needs the who:rust image (`make images`). Without Docker it fails; it
//! never skips.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use testkit::docker::{docker_status as docker, image_field, inspect, require_docker};
use testkit::{http_get, CommandExt, Outcome};

const IMAGE: &str = "who:rust";
const REPLICAS: usize = 3;
const HEALTHY_LIMIT: Duration = Duration::from_secs(60);

fn compose_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/compose.yaml")
}

/// `docker-compose` (Debian's 1.29) or else the `docker compose` plugin.
fn compose_command() -> Command {
    if Command::new("docker-compose")
        .arg("version")
        .outcome()
        .status
        .success()
    {
        Command::new("docker-compose")
    } else if docker(&["compose", "version"]).status.success() {
        let mut command = Command::new("docker");
        command.arg("compose");
        command
    } else {
        panic!("neither docker-compose nor `docker compose` is here: apt-get install docker-compose (scripts/lint-deploy.sh does)")
    }
}

/// A compose project up from deploy/compose.yaml, taken down (containers,
/// network, volumes) on drop, whether the test passed or panicked.
struct Project {
    name: String,
}

impl Project {
    fn compose(&self, args: &[&str]) -> Outcome {
        let file = compose_file();
        compose_command()
            .args([
                "--file",
                file.to_str().expect("UTF-8 path"),
                "--project-name",
                &self.name,
            ])
            .args(args)
            // Set but empty: ephemeral 127.0.0.1 ports, not the 8081-8083 a
            // user's own `up` of the same file may be holding.
            .env("WHO_HOST_PORTS", "")
            .outcome()
    }

    fn up(name: &str) -> Project {
        let project = Project {
            name: name.to_owned(),
        };
        project.compose(&["up", "--detach"]).expect_success();
        project
    }

    fn container_ids(&self) -> Vec<String> {
        let out = self.compose(&["ps", "--quiet"]).expect_success();
        out.stdout.split_whitespace().map(str::to_owned).collect()
    }

    /// Waits until REPLICAS containers report healthy (the image's
    /// HEALTHCHECK, restated in the compose file); returns their ids.
    fn wait_until_healthy(&self) -> Vec<String> {
        let start = Instant::now();
        let mut states = Vec::new();
        while start.elapsed() < HEALTHY_LIMIT {
            let ids = self.container_ids();
            states = ids
                .iter()
                .map(|id| inspect(id, "{{.State.Health.Status}}"))
                .collect();
            if ids.len() == REPLICAS && states.iter().all(|state| state == "healthy") {
                return ids;
            }
            sleep(Duration::from_millis(500));
        }
        let ps = self.compose(&["ps"]);
        panic!("health {states:?} after {HEALTHY_LIMIT:?}, expected {REPLICAS} healthy{ps}");
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.compose(&["down", "--volumes", "--timeout", "10"]);
    }
}

#[test]
fn compose_up_runs_three_healthy_replicas_that_each_answer_their_own_hostname() {
    require_docker();
    image_field(IMAGE, "{{.Id}}");

    // compose 1.29 keeps only [a-z0-9] of a project name.
    let project = Project::up(&format!("whocomposetest{}", std::process::id()));
    let ids = project.wait_until_healthy();

    let mut answered = BTreeSet::new();
    for id in &ids {
        let binding = inspect(
            id,
            r#"{{range (index .NetworkSettings.Ports "8080/tcp")}}{{.HostIp}}:{{.HostPort}} {{end}}"#,
        );
        assert_eq!(
            binding.split_whitespace().count(),
            1,
            "{id}: expected one binding, got {binding:?}"
        );
        let binding = binding.trim();
        assert!(
            binding.starts_with("127.0.0.1:"),
            "{id} is published on {binding}, not only on 127.0.0.1"
        );
        let (status, hostname) = http_get(&format!("http://{binding}/who"));
        assert_eq!(status, 200, "GET http://{binding}/who");
        assert_eq!(
            hostname,
            inspect(id, "{{.Config.Hostname}}"),
            "{binding} answered another container's hostname"
        );
        println!("{binding} answered {hostname}");
        answered.insert(hostname);
    }
    assert_eq!(
        answered.len(),
        REPLICAS,
        "expected {REPLICAS} distinct hostnames, got {answered:?}"
    );
}
