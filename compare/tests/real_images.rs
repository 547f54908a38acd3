//! Drives `compare` on real images against the real engine and checks what
//! it writes. The images are built here, FROM scratch with the workspace's
//! own static binaries, so the test needs neither `make images` nor a
//! registry: a release `hello` (the multi-stage build's kind of binary), a
//! debug `hello` standing for the naive build, and a debug `who-server`.
//!
//! No Docker engine is a failure, never a skip: this test is the proof that
//! the tool works against one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use testkit::docker::{docker, require_docker};
use testkit::{run, CommandExt};

const LABEL: &str = "rust-multi-stage.compare";
const HELLO: &str = "compare-test/hello:rust";
const HELLO_NAIVE: &str = "compare-test/hello:rust-naive";
const WHO: &str = "compare-test/who:rust";
/// Never built: its failure must not cost the other images their report.
const ABSENT: &str = "compare-test/hello:absent";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Static musl binaries, in a target dir of their own so this cargo does
/// not wait on the lock of the cargo running the tests.
fn static_binaries() -> PathBuf {
    let target_dir = workspace().join("target/compare-test");
    for profile in ["release", "dev"] {
        Command::new(env!("CARGO"))
            .current_dir(workspace())
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .args(["build", "--quiet", "--locked", "--profile", profile])
            .args([
                "--target",
                "x86_64-unknown-linux-musl",
                "-p",
                "hello",
                "-p",
                "who-server",
            ])
            .outcome()
            .expect_success();
    }
    target_dir.join("x86_64-unknown-linux-musl")
}

/// `FROM scratch` with one binary: the smallest honest image of a program.
fn scratch_image(tag: &str, binary: &Path, name: &str, server: bool) {
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(binary, context.path().join(name)).unwrap();
    let expose = if server { "EXPOSE 8080\n" } else { "" };
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM scratch\nCOPY {name} /{name}\n{expose}ENTRYPOINT [\"/{name}\"]\n"),
    )
    .unwrap();
    Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "--quiet", "-t", tag])
        .arg(context.path())
        .outcome()
        .expect_success();
}

fn image_size(tag: &str) -> u64 {
    docker(&["image", "inspect", "-f", "{{.Size}}", tag])
        .stdout
        .trim()
        .parse()
        .unwrap()
}

fn image<'a>(report: &'a Value, tag: &str) -> &'a Value {
    report["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["tag"] == tag)
        .unwrap_or_else(|| panic!("{tag} missing from the report"))
}

#[test]
fn measures_real_images_and_writes_the_report() {
    require_docker();

    let bins = static_binaries();
    scratch_image(HELLO, &bins.join("release/hello"), "hello", false);
    scratch_image(HELLO_NAIVE, &bins.join("debug/hello"), "hello", false);
    scratch_image(WHO, &bins.join("debug/who-server"), "who-server", true);

    let out = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args([
            "--skip-build",
            "--runs",
            "2",
            "--duration",
            "1s",
            "--images",
        ])
        .arg([HELLO, HELLO_NAIVE, WHO, ABSENT].join(","))
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its containers carry its pid: another run's may come and go meanwhile.
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // One image is missing on purpose: the run says so with its exit code.
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("| image |"),
        "the table goes to the terminal"
    );

    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("compare.json")).unwrap()).unwrap();
    for key in [
        "date",
        "machine",
        "docker",
        "host_toolchains",
        "settings",
        "images",
        "ratios",
        "targets",
    ] {
        assert!(report.get(key).is_some(), "report has no {key}");
    }
    assert!(report["docker"]["server_version"].is_string());
    assert!(report["machine"]["cpu_cores"].as_u64().unwrap() >= 1);

    for (tag, binary) in [
        (HELLO, bins.join("release/hello")),
        (HELLO_NAIVE, bins.join("debug/hello")),
        (WHO, bins.join("debug/who-server")),
    ] {
        let record = image(&report, tag);
        assert_eq!(record["status"], "ok", "{tag}: {}", record["errors"]);
        assert_eq!(
            record["size_bytes"].as_u64(),
            Some(image_size(tag)),
            "{tag}: size as docker says"
        );
        assert!(record["compressed_size_bytes"].as_u64().unwrap() > 0);
        assert_eq!(record["layer_count"], 1);
        assert_eq!(record["file_count"], 1);
        assert_eq!(record["elf_file_count"], 1);
        assert_eq!(record["has_shell"], false);
        assert_eq!(
            record["binary_size_bytes"].as_u64(),
            Some(std::fs::metadata(&binary).unwrap().len()),
            "{tag}: the binary's size"
        );
        assert_eq!(record["start"]["runs_ms"].as_array().unwrap().len(), 2);
        assert!(record["start"]["start_ms_median"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(
        image(&report, HELLO)["start"]["output_first_line"],
        "Hello world!"
    );
    assert_eq!(image(&report, HELLO)["start"]["exit_code"], 0);

    let who = image(&report, WHO);
    assert_eq!(who["kind"], "server");
    let memory = &who["memory"];
    let idle = memory["idle_vmrss_bytes"].as_u64().unwrap();
    assert!(idle > 0 && memory["peak_vmhwm_bytes"].as_u64().unwrap() >= idle);
    assert!(memory["idle_cgroup_usage_bytes"].as_u64().unwrap() > 0);
    let loads = who["load"].as_array().unwrap();
    assert_eq!(loads.len(), 2, "who is loaded on /who and /");
    for load in loads {
        assert!(load["requests"].as_u64().unwrap() > 0, "{load}");
        assert_eq!(load["errors"], 0, "{load}");
        assert!(
            load["latency_p99_ms"].as_f64().unwrap() >= load["latency_p50_ms"].as_f64().unwrap()
        );
    }
    assert!(who["stop"]["stop_ms_median"].as_f64().unwrap() > 0.0);
    assert_eq!(
        who["stop"]["runs_ms"].as_array().unwrap().len(),
        3,
        "2 start runs + the load run"
    );

    let absent = image(&report, ABSENT);
    assert_eq!(absent["status"], "failed");
    assert_eq!(absent["errors"][0]["phase"], "inspect");

    let ratio = report["ratios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"] == HELLO && r["baseline"] == HELLO_NAIVE)
        .expect("the multi-stage vs naive ratio");
    let expected = image_size(HELLO_NAIVE) as f64 / image_size(HELLO) as f64;
    // Ratios are kept to 4 decimals.
    let measured = ratio["size_times_smaller"].as_f64().unwrap();
    assert!(
        (measured - expected).abs() <= 0.5e-4,
        "{measured} vs {expected}"
    );

    let markdown = std::fs::read_to_string(out.path().join("compare.md")).unwrap();
    assert!(markdown.contains(HELLO) && markdown.contains("## Failures"));
    let svg = std::fs::read_to_string(out.path().join("compare.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("compare-test/who:rust"));

    // The report renders again from its JSON alone, to the same tables.
    let again = tempfile::tempdir().unwrap();
    run(Command::new(env!("CARGO_BIN_EXE_compare"))
        .arg("--from-json")
        .arg(out.path().join("compare.json"))
        .arg("--out")
        .arg(again.path()))
    .expect_success();
    assert_eq!(
        std::fs::read_to_string(again.path().join("compare.md")).unwrap(),
        markdown
    );

    let left = docker(&["ps", "-aq", "--filter", &format!("label={LABEL}={pid}")]).stdout;
    let left = left.trim();
    assert!(left.is_empty(), "containers left behind: {left}");
}

#[test]
fn bad_arguments_get_one_line_and_a_failure() {
    for args in [
        &["--runs", "0"][..],
        &["--images", "nginx:latest"],
        &["--duration", "500ms"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_compare"))
            .args(args)
            .outcome()
            .expect_one_line_error(2);
        assert!(out.stderr.starts_with("compare: "), "{args:?}{out}");
    }
}
