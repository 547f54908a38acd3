//! Drives `compare` on the project's real images (built by `make images`,
//! which `make test` runs first) against the real engine, and checks what
//! it writes. No Docker engine is a failure, never a skip: these tests are
//! the proof that the tool works against one.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;
use testkit::docker::{docker, docker_status, image_files, require_docker};
use testkit::{run, CommandExt};

const LABEL: &str = "rust-multi-stage.compare";

/// Runs compare with `args` and `--out out`; its output and its pid (its
/// containers carry the pid: another run's may come and go meanwhile).
fn compare(args: &[&str], out: &Path) -> (Output, u32) {
    let child = spawn_compare(args, out);
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid)
}

/// compare with `args` and `--out out`, running, stdout and stderr piped.
fn spawn_compare(args: &[&str], out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(args)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The images as they are, one round at 1 CPU.
const ONE_ROUND_AT_1_CPU: [&str; 5] = ["--skip-build", "--rounds", "1", "--cpus", "1"];

/// compare on `images` as they are, one round at 1 CPU, 1 s of load a
/// path, which must succeed: its report, its pid, and its --out directory.
fn one_short_round(images: &str) -> (Value, u32, tempfile::TempDir) {
    require_docker();
    let out = tempfile::tempdir().unwrap();
    let args = [
        &ONE_ROUND_AT_1_CPU[..],
        &["--duration", "1s", "--images", images],
    ]
    .concat();
    let (output, pid) = compare(&args, out.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    (report(out.path()), pid, out)
}

/// compare building `images` under the tag prefix `compare-test/`, then
/// one round at 1 CPU: its output, its pid, and its --out directory.
fn built_and_measured(images: &str) -> (Output, u32, tempfile::TempDir) {
    require_docker();
    let out = tempfile::tempdir().unwrap();
    let args = [
        "--tag-prefix",
        "compare-test/",
        "--rounds",
        "1",
        "--cpus",
        "1",
    ];
    let (output, pid) = compare(&[&args[..], &["--images", images]].concat(), out.path());
    (output, pid, out)
}

/// The names of a report's phases, in order.
fn phases(report: &Value) -> Vec<&str> {
    let phases = report["phases"].as_array().expect("phases");
    phases
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect()
}

fn report(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("compare.json")).unwrap()).unwrap()
}

fn image<'a>(report: &'a Value, tag: &str) -> &'a Value {
    report["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["tag"] == tag)
        .unwrap_or_else(|| panic!("{tag} missing from the report"))
}

fn rounds(figure: &Value) -> Vec<f64> {
    figure["rounds"]
        .as_array()
        .unwrap_or_else(|| panic!("not a figure: {figure}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// A figure has one value per round, and its median lies within its range.
fn assert_figure(figure: &Value, n: usize, what: &str) {
    let values = rounds(figure);
    assert_eq!(values.len(), n, "{what}: {figure}");
    let (median, min, max) = (
        figure["median"].as_f64().unwrap(),
        figure["min"].as_f64().unwrap(),
        figure["max"].as_f64().unwrap(),
    );
    assert!(min <= median && median <= max, "{what}: {figure}");
    assert!(
        values.iter().all(|v| *v >= min && *v <= max),
        "{what}: {figure}"
    );
}

fn image_size(tag: &str) -> f64 {
    docker(&["image", "inspect", "-f", "{{.Size}}", tag])
        .stdout
        .trim()
        .parse()
        .unwrap()
}

fn ratio<'a>(
    report: &'a Value,
    subject: &str,
    baseline: &str,
    measure: &str,
    cpus: Option<f64>,
) -> &'a Value {
    report["ratios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["subject"] == subject
                && r["baseline"] == baseline
                && r["measure"] == measure
                && r["cpus"].as_f64() == cpus
        })
        .unwrap_or_else(|| panic!("no {measure} ratio of {subject} to {baseline} at {cpus:?}"))
}

fn assert_no_containers_left(pid: u32) {
    let left = docker(&["ps", "-aq", "--filter", &format!("label={LABEL}={pid}")]).stdout;
    assert!(left.trim().is_empty(), "containers left behind: {left}");
}

#[test]
fn measures_real_images_in_rounds_at_every_cpu_setting_and_writes_the_report() {
    require_docker();
    let out = tempfile::tempdir().unwrap();
    let (output, pid) = compare(
        &[
            "--skip-build",
            "--rounds",
            "2",
            "--cpus",
            "1,2",
            "--duration",
            "1s",
            "--images",
            "who:rust,who:go,simple-script:python,simple-script:python-naive",
        ],
        out.path(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "compare failed:\n{stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("| image |"),
        "the tables go to the terminal"
    );
    // 4 images' facts, then 2 rounds at 2 settings of 4 images.
    assert!(stderr.contains("step 1 of 20: "), "{stderr}");
    assert!(stderr.contains("step 20 of 20, about "), "{stderr}");

    let report = report(out.path());
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["settings"]["rounds"], 2);
    assert_eq!(report["settings"]["build_rounds"], 0);
    assert_eq!(report["settings"]["cpus"], serde_json::json!([1.0, 2.0]));
    assert!(report["settings"]["load_generator"]
        .as_str()
        .unwrap()
        .contains("same"));

    for tag in [
        "who:rust",
        "who:go",
        "simple-script:python",
        "simple-script:python-naive",
    ] {
        let record = image(&report, tag);
        assert_eq!(record["status"], "ok", "{tag}: {}", record["errors"]);
        assert_eq!(
            record["size_bytes"].as_f64(),
            Some(image_size(tag)),
            "{tag}: size as docker says"
        );
        let runs = record["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2, "{tag}: one entry per CPU setting");
        for run in runs {
            assert_figure(&run["start_ms"], 2, &format!("{tag} start"));
        }
    }
    assert_eq!(
        image(&report, "simple-script:python")["runs"][0]["exit_code"],
        0
    );

    let who = image(&report, "who:rust");
    assert_eq!(who["binary_path"], "/who-server");
    for run in who["runs"].as_array().unwrap() {
        assert_figure(&run["stop_ms"], 2, "who:rust stop");
        assert_eq!(run["exit_code"], 0);
        let memory = &run["memory"];
        assert_figure(&memory["idle_vmrss_bytes"], 2, "idle VmRSS");
        assert_figure(&memory["peak_vmhwm_bytes"], 2, "peak VmHWM");
        assert!(
            memory["peak_vmhwm_bytes"]["min"].as_f64()
                >= memory["idle_vmrss_bytes"]["min"].as_f64()
        );
        let loads = run["loads"].as_array().unwrap();
        let paths: Vec<&str> = loads.iter().map(|l| l["path"].as_str().unwrap()).collect();
        assert_eq!(
            paths,
            ["/who", "/"],
            "who:rust is loaded on both originals' paths"
        );
        for load in loads {
            assert_eq!(load["requests"].as_array().unwrap().len(), 2, "{load}");
            assert!(
                load["requests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|r| r.as_u64() > Some(0)),
                "{load}"
            );
            assert_figure(&load["cpu_us_per_request"], 2, "CPU per request");
            assert!(
                load["cpu_us_per_request"]["min"].as_f64().unwrap() > 0.0,
                "{load}"
            );
            // Its user and system parts, each a figure, adding up to about
            // the total (v1 counts them in 10 ms ticks, the total in ns).
            assert_figure(&load["cpu_user_us_per_request"], 2, "user CPU");
            assert_figure(&load["cpu_system_us_per_request"], 2, "system CPU");
            let median = |key: &str| load[key]["median"].as_f64().unwrap();
            let parts = median("cpu_user_us_per_request") + median("cpu_system_us_per_request");
            let total = median("cpu_us_per_request");
            assert!(
                (parts - total).abs() <= 0.25 * total,
                "user + system {parts} µs against {total} µs: {load}"
            );
            assert_figure(&load["requests_per_s"], 2, "requests/s");
            assert!(
                load["latency_p99_ms"]["median"].as_f64()
                    >= load["latency_p50_ms"]["median"].as_f64()
            );
            let errors: u64 = load["errors"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
            assert_eq!(errors, 0, "{load}");
        }
    }

    // Ratios are taken within each round: one value per round.
    for cpus in [1.0, 2.0] {
        let cpu = ratio(
            &report,
            "who:rust",
            "who:go",
            "cpu_us_per_request",
            Some(cpus),
        );
        assert_eq!(cpu["path"], "/who");
        assert_figure(&cpu["times"], 2, "CPU per request ratio");
    }
    let naive = ratio(
        &report,
        "simple-script:python",
        "simple-script:python-naive",
        "size_bytes",
        None,
    );
    assert_eq!(naive["kind"], "multi_stage_vs_naive");
    let expected = image_size("simple-script:python-naive") / image_size("simple-script:python");
    assert!((naive["times"]["median"].as_f64().unwrap() - expected).abs() <= 0.5e-4);
    let target = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "cpu_vs_go@1")
        .expect("the CPU per request target");
    assert!(
        target["met"].is_boolean() && target["straddles"].is_boolean(),
        "{target}"
    );

    let markdown = std::fs::read_to_string(out.path().join("compare.md")).unwrap();
    assert!(markdown.contains("CPU per request") && markdown.contains("(min–max)"));
    for chart in [
        "compare.svg",
        "compare-memory.svg",
        "compare-cpu.svg",
        "compare-rps.svg",
    ] {
        let svg = std::fs::read_to_string(out.path().join(chart)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("who:rust"),
            "{chart}"
        );
    }

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
    assert_no_containers_left(pid);
}

#[test]
fn a_missing_image_fails_alone_and_the_report_is_still_written() {
    require_docker();
    let out = tempfile::tempdir().unwrap();
    let (output, pid) = compare(
        &[
            "--skip-build",
            "--rounds",
            "1",
            "--cpus",
            "1",
            "--tag-prefix",
            "compare-absent/",
            "--images",
            "hello:go",
        ],
        out.path(),
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(out.path());
    let absent = image(&report, "hello:go");
    assert_eq!(absent["image"], "compare-absent/hello:go");
    assert_eq!(absent["status"], "failed");
    assert_eq!(absent["errors"][0]["phase"], "inspect");
    assert!(std::fs::read_to_string(out.path().join("compare.md"))
        .unwrap()
        .contains("## Failures"));
    assert_no_containers_left(pid);
}

/// The report is written after every step: a run stopped early leaves
/// what it measured, and says which images it did not reach.
#[test]
fn a_run_stopped_early_leaves_the_report_so_far() {
    require_docker();
    let out = tempfile::tempdir().unwrap();
    let args = ["--skip-build", "--rounds", "20", "--cpus", "1"];
    let child = spawn_compare(
        &[&args[..], &["--images", "hello:go,hello:rust"]].concat(),
        out.path(),
    );
    let pid = child.id();
    let json = out.path().join("compare.json");
    let started = std::time::Instant::now();
    while !json.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "no compare.json after 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .outcome()
        .expect_success();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    // 2 images' facts, then 20 rounds of each.
    assert!(stderr.contains("step 1 of 42: "), "{stderr}");
    let report = report(out.path());
    let not_reached = report["not_reached"].as_array().expect("not_reached");
    assert!(!not_reached.is_empty(), "{}", report["not_reached"]);
    let markdown = std::fs::read_to_string(out.path().join("compare.md")).unwrap();
    assert!(markdown.contains("## Not reached"), "{markdown}");
    assert_no_containers_left(pid);
}

/// compare builds through scripts/build-images.sh, so what it measures is
/// what `make images` made: the same labels, the same files.
#[test]
fn an_image_built_by_compare_is_the_image_make_images_built() {
    let (tag, built) = ("hello:rust", "compare-test/hello:rust");
    let (output, _, out) = built_and_measured(tag);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let labels =
        |image: &str| docker(&["image", "inspect", "-f", "{{json .Config.Labels}}", image]).stdout;
    let (made, by_compare) = (labels(tag), labels(built));
    let (files, compare_files) = (image_files(tag), image_files(built));
    let _ = docker_status(&["image", "rm", built]);
    assert!(output.status.success(), "compare failed:\n{stderr}");
    assert_eq!(by_compare, made, "labels");
    assert_eq!(compare_files, files, "files");

    let report = report(out.path());
    let build = &image(&report, tag)["build"];
    assert_figure(&build["cold_ms"], 1, "cold build");
    assert_figure(&build["warm_ms"], 1, "warm build");
    assert_eq!(build["warm_changed_file"], "hello/src/main.rs");
    assert_eq!(report["settings"]["build_rounds"], 1);
}

/// An image of another platform is built untimed (it cross-compiles) and
/// beside the native images' facts, then measured as they are: one phase
/// for both, and each image's share by step.
#[test]
fn an_other_platform_image_is_built_untimed_beside_the_facts() {
    let tags = ["hello:rust-tiny", "hello:rust-tiny-arm64"];
    let (output, pid, out) = built_and_measured(&tags.join(","));
    // The arm64 build keeps its builder stage tagged, as the cache of the next.
    for tag in [tags[0], tags[1], "builder/hello:rust-tiny-arm64"] {
        let _ = docker_status(&["image", "rm", &format!("compare-test/{tag}")]);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "compare failed:\n{stderr}");
    assert!(
        stderr.contains("hello:rust-tiny-arm64: build (not timed: another platform)"),
        "{stderr}"
    );
    let report = report(out.path());
    assert_eq!(
        phases(&report),
        [
            "bases",
            "builds",
            "facts, other-platform builds beside them",
            "rounds"
        ]
    );
    let (native, other) = (image(&report, tags[0]), image(&report, tags[1]));
    assert_eq!(other["status"], "ok", "{other}");
    assert!(other["build"].is_null(), "timed: {other}");
    assert!(other["size_bytes"].as_u64().unwrap() > 0, "{other}");
    let spent = |record: &Value, step: &str| record["phase_wall_ms"][step].as_f64();
    assert!(
        spent(other, "other-platform builds").unwrap() > 0.0,
        "{other}"
    );
    assert!(spent(other, "facts").unwrap() > 0.0, "{other}");
    assert!(spent(native, "builds").unwrap() > 0.0, "{native}");
    assert_eq!(spent(native, "other-platform builds"), None, "{native}");
    assert_no_containers_left(pid);
}

#[test]
fn bad_arguments_get_one_line_and_a_failure() {
    for args in [
        &["--rounds", "0"][..],
        &["--images", "nginx:latest"],
        &["--duration", "500ms"],
        &["--cpus", "0"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_compare"))
            .args(args)
            .outcome()
            .expect_one_line_error(2);
        assert!(out.stderr.starts_with("compare: "), "{args:?}{out}");
    }
}

/// An arm64 image is measured beside its amd64 twin (size, compressed,
/// files, syft's packages) but never started: on this amd64 machine it
/// would run emulated. syft is installed by `make bootstrap`.
#[test]
fn arm64_images_get_their_facts_measured_and_are_not_run() {
    let (report, pid, out) = one_short_round("hello:rust,hello:rust-arm64");
    let (amd64, arm64) = (
        image(&report, "hello:rust"),
        image(&report, "hello:rust-arm64"),
    );
    assert_eq!(amd64["platform"], "linux/amd64");
    assert_eq!(arm64["platform"], "linux/arm64");
    assert_eq!(arm64["status"], "ok", "{arm64}");
    assert_eq!(
        arm64["size_bytes"].as_f64(),
        Some(image_size("hello:rust-arm64"))
    );
    assert!(arm64["compressed_size_bytes"].as_u64().unwrap() > 0);
    assert_eq!(arm64["file_count"], 1);
    assert_eq!(arm64["runs"].as_array().unwrap().len(), 0, "{arm64}");
    assert_eq!(amd64["runs"].as_array().unwrap().len(), 1, "{amd64}");
    // hello has no dependencies, but syft still finds the crate itself.
    for record in [amd64, arm64] {
        assert!(
            record["sbom_package_count"].as_u64().unwrap() >= 1,
            "{record}"
        );
    }
    let md = std::fs::read_to_string(out.path().join("compare.md")).unwrap();
    assert!(md.contains("| hello:rust-arm64 | ok |"), "{md}");
    let svg = std::fs::read_to_string(out.path().join("compare.svg")).unwrap();
    assert!(svg.contains("hello:rust-arm64"), "the size chart lacks it");
    assert_no_containers_left(pid);
}

/// What depends only on content (a layer's compressed size and files, by
/// its digest; syft's count, by the image's layers) is measured once and
/// kept: a second run takes it from the cache and says so in `reused`;
/// `--fresh` measures it again. Every run times its phases.
#[test]
fn a_second_run_reuses_what_the_first_measured_and_fresh_does_not() {
    require_docker();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let args = [
        &ONE_ROUND_AT_1_CPU[..],
        &["--images", "hello:go,hello:rust-tiny", "--cache", cache_dir],
    ]
    .concat();
    let run = |extra: &[&str]| {
        let out = tempfile::tempdir().unwrap();
        let (output, pid) = compare(&[&args[..], extra].concat(), out.path());
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "compare failed:\n{stderr}");
        assert_no_containers_left(pid);
        report(out.path())
    };
    let reused = |report: &Value, tag: &str| -> Vec<String> {
        image(report, tag)["reused"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };

    let first = run(&["--fresh"]);
    let second = run(&[]);
    let fresh = run(&["--fresh"]);
    for tag in ["hello:go", "hello:rust-tiny"] {
        assert!(reused(&first, tag).is_empty(), "{tag}: {first}");
        assert!(reused(&fresh, tag).is_empty(), "{tag}: --fresh: {fresh}");
        let again = reused(&second, tag);
        for field in ["compressed_size_bytes", "file_count", "sbom_package_count"] {
            assert!(
                again.iter().any(|f| f == field),
                "{tag}: {field} not reused: {again:?}"
            );
        }
        // The same figures, whoever measured them.
        for field in [
            "compressed_size_bytes",
            "file_count",
            "binary_size_bytes",
            "sbom_package_count",
        ] {
            assert_eq!(
                image(&second, tag)[field],
                image(&first, tag)[field],
                "{tag}: {field}"
            );
        }
    }
    for report in [&first, &second] {
        assert_eq!(
            phases(report),
            [
                "bases",
                "facts, other-platform builds beside them",
                "rounds"
            ],
            "{}",
            report["phases"]
        );
    }
}

/// At 1 CPU of several, the container runs on core 0 and wrk on the
/// others (issue 19's slow state came from sharing them): the report says
/// so, and the server's threads never moved from their core, nor did its
/// quota throttle them.
#[test]
fn at_1_cpu_the_server_keeps_a_core_of_its_own_and_wrk_the_others() {
    let cores = std::thread::available_parallelism().unwrap().get();
    assert!(cores >= 2, "the pinning needs a core for wrk");
    let (report, pid, _out) = one_short_round("who:rust");
    let wrk = if cores == 2 {
        "1".to_owned()
    } else {
        format!("1-{}", cores - 1)
    };
    assert_eq!(
        report["settings"]["pinning"],
        serde_json::json!([{
            "cpus": 1.0,
            "container_cpus": "0",
            "container_quota_cpus": null,
            "wrk_cpus": wrk
        }])
    );
    for load in image(&report, "who:rust")["runs"][0]["loads"]
        .as_array()
        .unwrap()
    {
        let contention = &load["contention"];
        assert_eq!(
            contention["server_migrations"],
            serde_json::json!([0]),
            "{load}"
        );
        assert_eq!(
            contention["throttled_periods"],
            serde_json::json!([0]),
            "{load}"
        );
        assert!(
            contention["server_switches"][0].as_u64() > Some(0),
            "{load}"
        );
        assert_eq!(
            contention["steal_us"].as_array().unwrap().len(),
            1,
            "{load}"
        );
    }
    assert_no_containers_left(pid);
}

/// who:rust-tls runs with the run's test certificate and is loaded over TLS
/// only, on its own path: kept alive, then with a new connection (a full
/// handshake) per request, which costs more CPU per request. Its time in
/// each phase is in its record.
#[test]
fn who_rust_tls_is_loaded_over_tls_kept_alive_and_with_a_handshake_per_request() {
    let (report, pid, _out) = one_short_round("who:rust-tls");
    let record = image(&report, "who:rust-tls");
    let loads = record["runs"][0]["loads"].as_array().unwrap();
    let paths: Vec<&str> = loads.iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/who over TLS", "/who over TLS, Connection: close"]);
    for load in loads {
        assert!(rounds(&load["requests_per_s"])[0] > 0.0, "{load}");
        assert_eq!(load["errors"]["connect"], 0, "{load}");
    }
    let cpu = |load: &Value| load["cpu_us_per_request"]["median"].as_f64().unwrap();
    assert!(cpu(&loads[1]) > cpu(&loads[0]), "{loads:?}");
    let phases = record["phase_wall_ms"].as_object().unwrap();
    assert!(phases["facts"].as_f64().unwrap() > 0.0, "{record}");
    assert!(phases["rounds"].as_f64().unwrap() > 0.0, "{record}");
    assert_no_containers_left(pid);
}
