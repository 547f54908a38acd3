//! deploy/stack.yml on a real one-node Swarm: three replicas, each answering
//! /who with its own hostname, and a rolling update under keep-alive clients
//! that loses no request. Traffic stays on the stack's overlay network,
//! between its replicas and a client container the test starts there.
//!
//! Needs the who:rust image (`make images`), a busybox image for the client
//! (scripts/stand-ins.sh makes standin/busybox) and the
//! x86_64-unknown-linux-musl target (`make bootstrap`): the keep-alive
//! client (tests/src/bin/keep_alive_client.rs) is built static and run in
//! the busybox container, whose wget cannot keep a connection alive.
//! Without Docker it fails; it never skips.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

use testkit::docker::{docker_status as docker, image_field, require_docker};
use testkit::{CommandExt, Outcome, Running};

const IMAGE: &str = "who:rust";
/// Tried in order: the local stand-in first, then the official image.
const CLIENT_IMAGES: &[&str] = &["standin/busybox:latest", "busybox:latest", "busybox:1.37"];
const REPLICAS: usize = 3;
const DEPLOY_LIMIT: Duration = Duration::from_secs(90);
const REMOVE_LIMIT: Duration = Duration::from_secs(60);
/// Three tasks one at a time, each healthy before the next (a health check
/// every 5 s) and 5 s apart, then stack.yml's 15 s of monitoring: about a
/// minute on an idle machine.
const UPDATE_LIMIT: Duration = Duration::from_secs(180);
/// Keep-alive connections the client holds, spread over the three tasks.
const CONNECTIONS: usize = 6;
/// The client stops by itself after this long, should the test not stop it.
const CLIENT_MAX_SECONDS: u64 = 300;
const CLIENT_BUILD_LIMIT: Duration = Duration::from_secs(600);

fn stack_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/stack.yml")
}

fn client_image() -> &'static str {
    CLIENT_IMAGES
        .iter()
        .find(|image| docker(&["image", "inspect", image]).status.success())
        .unwrap_or_else(|| panic!("none of {CLIENT_IMAGES:?} is here: run scripts/stand-ins.sh"))
}

/// The keep-alive client, built static for musl (it runs in the busybox
/// client image; .cargo/config.toml has the target's flags) into a target
/// directory of its own, so that it never waits on the lock of the
/// workspace's.
fn keep_alive_client_binary() -> PathBuf {
    const TARGET: &str = "x86_64-unknown-linux-musl";
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keep-alive-client");
    let manifest = testkit::root().join("Cargo.toml");
    Command::new(env!("CARGO"))
        .args(["build", "--locked", "--package", "testkit"])
        .args(["--bin", "keep-alive-client", "--target", TARGET])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .outcome_within(CLIENT_BUILD_LIMIT)
        .expect_success();
    target_dir.join(TARGET).join("debug/keep-alive-client")
}

/// What the keep-alive client reported: its counts (`answered`, `lost`…)
/// and the answers per hostname.
struct Report {
    counts: BTreeMap<String, u64>,
    hostnames: BTreeMap<String, u64>,
    outcome: Outcome,
}

impl Report {
    fn parse(outcome: Outcome) -> Report {
        let mut counts = BTreeMap::new();
        let mut hostnames = BTreeMap::new();
        for line in outcome.stdout.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let number = |word: &str| {
                word.parse::<u64>()
                    .unwrap_or_else(|_| panic!("not a count in {line:?}{outcome}"))
            };
            match words.as_slice() {
                ["hostname", hostname, answers] => {
                    hostnames.insert((*hostname).to_owned(), number(answers));
                }
                [name, value] => {
                    counts.insert((*name).to_owned(), number(value));
                }
                _ => panic!("unexpected line {line:?}{outcome}"),
            }
        }
        Report {
            counts,
            hostnames,
            outcome,
        }
    }

    #[track_caller]
    fn count(&self, name: &str) -> u64 {
        *self
            .counts
            .get(name)
            .unwrap_or_else(|| panic!("no {name} count{}", self.outcome))
    }
}

/// The keep-alive client running in a container on the stack's network,
/// until [`KeepAliveClients::stop`]; the container is removed on drop.
struct KeepAliveClients {
    name: String,
    running: Option<Running>,
}

impl KeepAliveClients {
    /// `docker run -i`: the client stops when its stdin closes.
    fn start(stack: &Stack, binary: &std::path::Path) -> KeepAliveClients {
        let name = format!("{}-keep-alive-client", stack.name);
        let mount = format!("{}:/keep-alive-client:ro", binary.display());
        let target = format!("{}:8080", stack.service());
        let connections = CONNECTIONS.to_string();
        let max_seconds = CLIENT_MAX_SECONDS.to_string();
        let mut command = Command::new("docker");
        command.args(["run", "-i", "--rm", "--name", &name]);
        command.args(["--network", &stack.network, "--volume", &mount]);
        // A CPU of the machine's left to the tasks and their health checks.
        command.args(["--cpus", "1"]);
        command.args(["--label", "rust-multi-stage.test=1", client_image()]);
        command.args(["/keep-alive-client", &target, &connections, &max_seconds]);
        let running = testkit::start(command.stdin(Stdio::piped()));
        KeepAliveClients {
            name,
            running: Some(running),
        }
    }

    /// Closes the client's stdin, and reads its report once it has finished
    /// the requests it was waiting on (within 30 s, or it is killed and
    /// the test fails with everything it printed).
    fn stop(mut self) -> Report {
        let mut running = self.running.take().expect("stopped once");
        running.close_stdin();
        let outcome = running.wait_within(Duration::from_secs(30));
        Report::parse(outcome.expect_success())
    }
}

impl Drop for KeepAliveClients {
    fn drop(&mut self) {
        // Still running only if the test failed: its container would keep
        // the stack's network from going (killing `docker run` leaves it).
        if self.running.is_some() {
            let _ = docker(&["rm", "--force", &self.name]);
        }
    }
}

/// The deployed stack, and the swarm if this test made it. Dropping it
/// removes both, whether the test passed or panicked.
struct Stack {
    name: String,
    network: String,
    left_swarm_on_drop: bool,
    gwbridge_made_here: bool,
    /// One stack at a time: the first test's drop would otherwise leave the
    /// swarm under the second. Released after [`Drop::drop`] has run.
    _one_at_a_time: MutexGuard<'static, ()>,
}

/// Held by the deployed [`Stack`].
static SWARM: Mutex<()> = Mutex::new(());

impl Stack {
    fn deploy(name: &str) -> Stack {
        // A test that failed holding it poisoned it; its stack is gone.
        let one_at_a_time = SWARM
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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
            _one_at_a_time: one_at_a_time,
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

    /// `docker service update --force`: every task replaced, one at a time
    /// as stack.yml's update_config says, then waits until Swarm says the
    /// update completed (after its monitoring period) and every replica
    /// runs again.
    fn update_by_force(&self) {
        docker(&["service", "update", "--force", "--detach", &self.service()]).expect_success();
        let start = Instant::now();
        let mut state = String::new();
        while start.elapsed() < UPDATE_LIMIT {
            // No UpdateStatus until the updater has started.
            state = docker(&[
                "service",
                "inspect",
                "--format",
                "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
                &self.service(),
            ])
            .expect_success()
            .stdout
            .trim()
            .to_owned();
            match state.as_str() {
                "completed" => {
                    self.wait_for_replicas();
                    return;
                }
                "" | "updating" => sleep(Duration::from_secs(1)),
                // paused, rollback_started, rollback_completed…
                _ => break,
            }
        }
        let tasks = docker(&["service", "ps", "--no-trunc", &self.service()]);
        panic!(
            "the update is {state:?}, not completed, after {:?}{tasks}",
            start.elapsed()
        );
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

#[test]
fn a_rolling_update_under_keep_alive_clients_loses_no_request() {
    require_docker();
    image_field(IMAGE, "{{.Id}}");
    client_image();
    let binary = keep_alive_client_binary();

    let stack = Stack::deploy(&format!("who-swarm-update-{}", std::process::id()));
    stack.wait_for_replicas();
    let old = stack.replica_hostnames();

    let clients = KeepAliveClients::start(&stack, &binary);
    // Every connection settled on its task before the first one stops.
    sleep(Duration::from_secs(3));
    let start = Instant::now();
    stack.update_by_force();
    println!("update completed in {:?}", start.elapsed());
    let new = stack.replica_hostnames();
    // Long enough for a few answers from the last new task.
    sleep(Duration::from_secs(3));
    let report = clients.stop();
    println!("old tasks {old:?}, new tasks {new:?}{}", report.outcome);

    assert_eq!(report.count("lost"), 0, "lost requests{}", report.outcome);
    assert_eq!(
        report.count("not_ok"),
        0,
        "answers not 200{}",
        report.outcome
    );
    assert!(report.count("answered") > 0, "no answer{}", report.outcome);
    assert!(
        old.is_disjoint(&new),
        "not every task replaced: {old:?} then {new:?}"
    );
    let seen: BTreeSet<String> = report.hostnames.keys().cloned().collect();
    assert!(
        old.is_subset(&seen),
        "not every old task answered: {old:?}, answers from {seen:?}"
    );
    assert!(
        !new.is_disjoint(&seen),
        "no new task answered: {new:?}, answers from {seen:?}"
    );
}
