//! deploy/stack.yml on a real one-node Swarm: three replicas, each answering
//! /who with its own hostname. Traffic stays on the stack's overlay network,
//! between its replicas and a client container the test starts there.
//!
//! Needs the who:rust image (`make images`) and a busybox image for the
//! client (scripts/stand-ins.sh makes standin/busybox). Without Docker it
//! fails; it never skips.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::{Duration, Instant};

use testkit::docker::{docker_status as docker, image_field, require_docker};

const IMAGE: &str = "who:rust";
/// Tried in order: the local stand-in first, then the official image.
const CLIENT_IMAGES: &[&str] = &["standin/busybox:latest", "busybox:latest", "busybox:1.37"];
const REPLICAS: usize = 3;
const DEPLOY_LIMIT: Duration = Duration::from_secs(90);
const REMOVE_LIMIT: Duration = Duration::from_secs(60);

fn stack_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/stack.yml")
}

fn client_image() -> &'static str {
    CLIENT_IMAGES
        .iter()
        .find(|image| docker(&["image", "inspect", image]).status.success())
        .unwrap_or_else(|| panic!("none of {CLIENT_IMAGES:?} is here: run scripts/stand-ins.sh"))
}

/// The deployed stack, and the swarm if this test made it. Dropping it
/// removes both, whether the test passed or panicked.
struct Stack {
    name: String,
    network: String,
    left_swarm_on_drop: bool,
    gwbridge_made_here: bool,
}

impl Stack {
    fn deploy(name: &str) -> Stack {
        let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]).expect_success();
        let swarm_made_here = match state.stdout.trim() {
            "inactive" => true,
            "active" => false,
            // pending, error, locked: not ours to init over, nor to leave.
            other => panic!("this node's swarm is {other:?}; expected inactive or active{state}"),
        };
        // swarm init makes docker_gwbridge; leaving the swarm keeps it.
        let had_gwbridge = docker(&["network", "inspect", "docker_gwbridge"])
            .status
            .success();
        let stack = Stack {
            name: name.to_owned(),
            network: format!("{name}_who-net"),
            left_swarm_on_drop: swarm_made_here,
            gwbridge_made_here: swarm_made_here && !had_gwbridge,
        };
        if swarm_made_here {
            // Loopback: a one-node swarm that no other machine can join.
            docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]).expect_success();
        }
        let file = stack_file();
        // --resolve-image never: who:rust is local, there is no registry to ask.
        docker(&[
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "--compose-file",
            file.to_str().expect("UTF-8 path"),
            name,
        ])
        .expect_success();
        stack
    }

    fn service(&self) -> String {
        format!("{}_who", self.name)
    }

    /// Waits until the service reports REPLICAS of REPLICAS running; with a
    /// healthcheck, Swarm counts a task as running only once it is healthy.
    fn wait_for_replicas(&self) {
        let wanted = format!("{REPLICAS}/{REPLICAS}");
        let start = Instant::now();
        let mut replicas = String::new();
        while start.elapsed() < DEPLOY_LIMIT {
            replicas = docker(&[
                "service",
                "ls",
                "--filter",
                &format!("name={}", self.service()),
                "--format",
                "{{.Replicas}}",
            ])
            .expect_success()
            .stdout
            .trim()
            .to_owned();
            if replicas == wanted {
                return;
            }
            sleep(Duration::from_secs(1));
        }
        let tasks = docker(&["service", "ps", "--no-trunc", &self.service()]);
        panic!("replicas {replicas:?}, not {wanted}, after {DEPLOY_LIMIT:?}{tasks}");
    }

    /// The hostnames of the running replicas, as Docker set them.
    fn replica_hostnames(&self) -> BTreeSet<String> {
        let label = format!("label=com.docker.swarm.service.name={}", self.service());
        let ids = docker(&["ps", "--quiet", "--filter", &label]).expect_success();
        ids.stdout
            .split_whitespace()
            .map(|id| {
                docker(&["inspect", "--format", "{{.Config.Hostname}}", id])
                    .expect_success()
                    .stdout
                    .trim()
                    .to_owned()
            })
            .collect()
    }

    /// From a client on the stack's network: resolves `tasks.SERVICE` (one
    /// address per replica, the dnsrr way) and GETs /who from each address.
    /// Returns (address, answer) pairs. (`timeout`, not wget's -T: busybox
    /// 1.35's wget crashes with -T. -Y off: never through a proxy.)
    fn ask_every_replica(&self) -> Vec<(String, String)> {
        let script = format!(
            r#"set -e
addresses=$(nslookup tasks.{service} | sed -n 's/^Address: \([0-9.]*\)$/\1/p')
[ -n "$addresses" ] || {{ echo "tasks.{service} resolved to nothing" >&2; exit 1; }}
for address in $addresses; do
  printf '%s ' "$address"
  timeout 10 wget -q -Y off -O- "http://$address:8080/who"
  echo
done"#,
            service = self.service()
        );
        let out = docker(&[
            "run",
            "--rm",
            "--network",
            &self.network,
            "--label",
            "rust-multi-stage.test=1",
            client_image(),
            "sh",
            "-c",
            &script,
        ])
        .expect_success();
        out.stdout
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(address, hostname)| (address.to_owned(), hostname.to_owned()))
            .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = docker(&["stack", "rm", &self.name]);
        // stack rm returns at once: the tasks' containers, then the network,
        // go in the background. Wait for both, or leaving the swarm now
        // could strand them.
        let label = format!("label=com.docker.stack.namespace={}", self.name);
        let start = Instant::now();
        while start.elapsed() < REMOVE_LIMIT {
            let containers = docker(&["ps", "--all", "--quiet", "--filter", &label]);
            let network = docker(&["network", "inspect", &self.network]);
            if containers.stdout.trim().is_empty() && !network.status.success() {
                break;
            }
            sleep(Duration::from_millis(500));
        }
        if self.left_swarm_on_drop {
            let _ = docker(&["swarm", "leave", "--force"]);
        }
        if self.gwbridge_made_here {
            let _ = docker(&["network", "rm", "docker_gwbridge"]);
        }
    }
}

#[test]
fn stack_runs_three_replicas_that_each_answer_their_own_hostname() {
    require_docker();
    image_field(IMAGE, "{{.Id}}");
    client_image();

    let stack = Stack::deploy(&format!("who-swarm-test-{}", std::process::id()));
    stack.wait_for_replicas();

    let answers = stack.ask_every_replica();
    for (address, hostname) in &answers {
        println!("{address} answered {hostname}");
    }
    let answered: BTreeSet<String> = answers.into_iter().map(|(_, hostname)| hostname).collect();
    assert_eq!(
        answered.len(),
        REPLICAS,
        "expected {REPLICAS} distinct hostnames, got {answered:?}"
    );
    assert_eq!(
        answered,
        stack.replica_hostnames(),
        "the answers are not the replicas' own hostnames"
    );
}
