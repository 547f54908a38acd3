//! The images, built by `make images`: real `docker run`, requests only to
//! ports published on 127.0.0.1.

use std::time::{Duration, Instant};

use testkit::docker::{docker, docker_status, image_field, image_files, Container};
use testkit::{http_get, CommandExt};

/// The Rust multi-stage images: what each must hold, and nothing more.
const SCRATCH_IMAGES: &[(&str, &[&str])] = &[
    ("who:rust", &["/who-server"]),
    ("hello:rust", &["/hello"]),
    ("simple-script:rust", &["/output.txt", "/simple-script"]),
];

/// Size budgets, in bytes as `docker image inspect` reports them: a little
/// above what was measured, so that growth is a decision, not an accident.
const SIZE_BUDGETS: &[(&str, u64)] = &[
    ("who:rust", 950_000),
    ("hello:rust", 400_000),
    ("simple-script:rust", 650_000),
];

/// `docker run -d` of a server image with 8080 published on a free 127.0.0.1 port.
fn serve(image: &str, extra: &[&str]) -> (Container, String) {
    let mut args = vec!["-p", "127.0.0.1::8080"];
    args.extend_from_slice(extra);
    args.push(image);
    let container = Container::run(&args);
    let base = format!("http://127.0.0.1:{}", container.published_port());
    container.wait_until_serving(
        &format!("{base}{}", probe_path(image)),
        Duration::from_secs(20),
    );
    (container, base)
}

/// web:go only answers `/`; the others have `/who`.
fn probe_path(image: &str) -> &'static str {
    if image.starts_with("web:") {
        "/"
    } else {
        "/who"
    }
}

/// `docker run --rm IMAGE` of a command-line image; its stdout.
fn run_to_completion(image: &str) -> String {
    docker(&["run", "--rm", "--label", "rust-multi-stage.test=1", image]).stdout
}

#[test]
fn rust_scratch_images_hold_exactly_their_files() {
    for (image, expected) in SCRATCH_IMAGES {
        assert_eq!(image_files(image), *expected, "{image}");
    }
}

#[test]
fn rust_scratch_images_have_no_shell() {
    for (image, _) in SCRATCH_IMAGES {
        let out = docker_status(&[
            "run",
            "--rm",
            "--entrypoint",
            "/bin/sh",
            image,
            "-c",
            "true",
        ]);
        assert!(!out.status.success(), "{image} ran /bin/sh{out}");
    }
}

#[test]
fn rust_scratch_images_run_as_user_65532() {
    for (image, _) in SCRATCH_IMAGES {
        assert_eq!(
            image_field(image, "{{.Config.User}}"),
            "65532:65532",
            "{image}"
        );
    }
}

#[test]
fn rust_scratch_images_carry_the_oci_labels() {
    let labels = [
        "title",
        "description",
        "source",
        "version",
        "revision",
        "licenses",
        "created",
    ];
    for (image, _) in SCRATCH_IMAGES {
        for label in labels {
            let value = image_field(
                image,
                &format!("{{{{index .Config.Labels \"org.opencontainers.image.{label}\"}}}}"),
            );
            assert!(
                !value.is_empty() && value != "<no value>",
                "{image} lacks {label}"
            );
        }
    }
}

#[test]
fn rust_scratch_images_stay_within_their_size_budgets() {
    for (image, budget) in SIZE_BUDGETS {
        let size: u64 = image_field(image, "{{.Size}}").parse().unwrap();
        assert!(
            size <= *budget,
            "{image} is {size} bytes, over its budget of {budget}"
        );
    }
}

#[test]
fn who_rust_answers_the_hostname_docker_gave_the_container() {
    let (container, base) = serve("who:rust", &[]);
    let hostname = container.field("{{.Config.Hostname}}");
    assert_eq!(http_get(&format!("{base}/who")), (200, hostname));
}

#[test]
fn who_rust_runs_read_only_without_capabilities_and_becomes_healthy() {
    // The image's own HEALTHCHECK, probed every second instead of every 30.
    let (container, base) = serve(
        "who:rust",
        &[
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--health-interval",
            "1s",
        ],
    );
    assert_eq!(http_get(&format!("{base}/health")).0, 200);
    container.wait_until_healthy(Duration::from_secs(20));
}

#[test]
fn who_rust_stops_in_under_a_second_with_exit_0() {
    let (container, _) = serve("who:rust", &[]);
    let start = Instant::now();
    docker(&["stop", &container.id]);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(1), "docker stop took {took:?}");
    assert_eq!(container.field("{{.State.ExitCode}}"), "0");
}

#[test]
fn hello_rust_prints_hello_world() {
    assert_eq!(run_to_completion("hello:rust"), "Hello world!\n");
}

/// hello:rust-tiny (no std, no libc): the same checks as the other scratch
/// images, on their own so that `cargo test --test images -- tiny` runs them.
const TINY: &str = "hello:rust-tiny";

/// A little above the 840 bytes measured (`docker image inspect`'s Size).
const TINY_BUDGET: u64 = 1_024;

#[test]
fn hello_rust_tiny_prints_hello_world() {
    assert_eq!(run_to_completion(TINY), "Hello world!\n");
}

#[test]
fn hello_rust_tiny_holds_one_file_no_shell_and_runs_as_65532() {
    assert_eq!(image_files(TINY), ["/hello-tiny"]);
    let shell = docker_status(&["run", "--rm", "--entrypoint", "/bin/sh", TINY, "-c", "true"]);
    assert!(!shell.status.success(), "{TINY} ran /bin/sh{shell}");
    assert_eq!(image_field(TINY, "{{.Config.User}}"), "65532:65532");
}

#[test]
fn hello_rust_tiny_carries_the_oci_labels() {
    let label = |name: &str| {
        image_field(
            TINY,
            &format!("{{{{index .Config.Labels \"org.opencontainers.image.{name}\"}}}}"),
        )
    };
    assert_eq!(label("title"), "hello-tiny");
    for name in [
        "description",
        "source",
        "version",
        "revision",
        "licenses",
        "created",
    ] {
        let value = label(name);
        assert!(
            !value.is_empty() && value != "<no value>",
            "{TINY} lacks {name}"
        );
    }
}

#[test]
fn hello_rust_tiny_stays_within_its_size_budget() {
    let size: u64 = image_field(TINY, "{{.Size}}").parse().unwrap();
    assert!(
        size <= TINY_BUDGET,
        "{TINY} is {size} bytes, over its budget of {TINY_BUDGET}"
    );
}

#[test]
fn simple_script_rust_shows_the_output_txt_made_at_build_time() {
    let shown = run_to_completion("simple-script:rust");
    assert!(shown.starts_with("Hello from simple-script!\n"), "{shown}");
    assert!(shown.contains("File: /out/output.txt"), "{shown}");
}

#[test]
fn every_server_image_answers_on_8080() {
    let cases = [
        ("who:rust-naive", "/who"),
        ("who:go", "/who"),
        ("who:go-naive", "/who"),
        ("web:go", "/"),
        ("web:go-naive", "/"),
    ];
    for (image, path) in cases {
        let (container, base) = serve(image, &[]);
        let (status, body) = http_get(&format!("{base}{path}"));
        assert_eq!(status, 200, "{image} {path}");
        if path == "/who" {
            assert_eq!(body, container.field("{{.Config.Hostname}}"), "{image}");
        } else {
            assert_eq!(
                body, "Hello World from Go in minimal Docker container\n",
                "{image}"
            );
        }
    }
}

#[test]
fn every_hello_image_prints_hello_world() {
    for image in ["hello:rust-naive", "hello:go", "hello:go-naive"] {
        assert_eq!(run_to_completion(image), "Hello world!\n", "{image}");
    }
}

#[test]
fn every_simple_script_image_shows_a_file_made_at_build_time() {
    for image in [
        "simple-script:rust-naive",
        "simple-script:python",
        "simple-script:python-naive",
    ] {
        let shown = run_to_completion(image);
        assert!(
            shown.contains("This file was generated"),
            "{image} showed {shown:?}"
        );
    }
}

#[test]
fn naive_images_are_far_bigger_than_their_multi_stage_twins() {
    for program in ["who", "hello", "simple-script"] {
        let twins = if program == "simple-script" {
            ["rust", "python"]
        } else {
            ["rust", "go"]
        };
        for language in twins {
            let size = |tag: &str| -> u64 {
                image_field(&format!("{program}:{tag}"), "{{.Size}}")
                    .parse()
                    .unwrap()
            };
            let (multi, naive) = (size(language), size(&format!("{language}-naive")));
            assert!(
                naive > 10 * multi,
                "{program}:{language}-naive is {naive} bytes, multi-stage {multi}"
            );
        }
    }
}

#[test]
fn a_one_line_source_change_rebuilds_who_rust_without_recompiling_its_dependencies() {
    // A copy of the committed tree with one line added to who-server, built
    // by the same script as `make images`, under another tag.
    let copy = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR").trim_end_matches("/tests");
    let script = format!(
        "set -o pipefail; cd {root} && git ls-files -z | xargs -0 cp --parents -t {copy}",
        copy = copy.path().display()
    );
    std::process::Command::new("bash")
        .args(["-c", &script])
        .outcome()
        .expect_success();
    let main_rs = copy.path().join("who-server/src/main.rs");
    let mut source = std::fs::read_to_string(&main_rs).unwrap();
    // Unique, or a second run would find this very change in the cache.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    source.push_str(&format!("// a one-line change, {nonce}\n"));
    std::fs::write(&main_rs, source).unwrap();

    let logs = copy.path().join("logs");
    std::process::Command::new(copy.path().join("scripts/build-images.sh"))
        .arg("who:rust")
        .env("TAG_PREFIX", "cache-test/")
        .env("LOG_DIR", &logs)
        .outcome()
        .expect_success();
    let _ = docker_status(&["rmi", "cache-test/who:rust"]);

    let log = without_colours(&std::fs::read_to_string(logs.join("who-rust.log")).unwrap());
    assert!(
        log.contains("Compiling who-server"),
        "who-server was not rebuilt:\n{log}"
    );
    for dependency in ["hyper ", "tokio ", "clap ", "serde "] {
        assert!(
            !log.contains(&format!("Compiling {dependency}")),
            "{dependency}was rebuilt:\n{log}"
        );
    }
}

/// The build log without ANSI colour codes (the docker CLI colours what a
/// build step writes to stderr when it thinks a terminal is there).
fn without_colours(log: &str) -> String {
    let mut plain = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip `ESC [ ... letter`.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}
