//! The images, built by `make images`: real `docker run`, requests only to
//! ports published on 127.0.0.1. Which images there are comes from
//! docker/images.tsv (testkit's `catalog`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::catalog::{self, Kind};
use testkit::docker::{
    docker, docker_status, image_field, image_files, image_labels, unique_prefix, Container,
    HttpsContainer, TestImage,
};
use testkit::{http_get, root, CommandExt, Outcome};

/// The Rust multi-stage images, amd64 and arm64: what each must hold, and
/// nothing more.
const SCRATCH_IMAGES: &[(&str, &[&str])] = &[
    ("who:rust", &["/who-server"]),
    ("who:rust-tls", &["/who-server"]),
    ("hello:rust", &["/hello"]),
    ("hello:rust-tiny", &["/hello-tiny"]),
    ("simple-script:rust", &["/output.txt", "/simple-script"]),
    ("who:rust-arm64", &["/who-server"]),
    ("who:rust-tls-arm64", &["/who-server"]),
    ("hello:rust-arm64", &["/hello"]),
    ("hello:rust-tiny-arm64", &["/hello-tiny"]),
    (
        "simple-script:rust-arm64",
        &["/output.txt", "/simple-script"],
    ),
];

/// `docker run -d` of a server image with 8080 published on a free 127.0.0.1
/// port, once it answers on its own path (the first of its catalog row).
fn serve(image: &str, extra: &[&str]) -> (Container, String) {
    let own_path = catalog::image(image).paths[0].clone();
    let mut args = vec!["-p", "127.0.0.1::8080"];
    args.extend_from_slice(extra);
    args.push(image);
    let container = Container::run(&args);
    let base = format!("http://127.0.0.1:{}", container.published_port());
    container.wait_until_serving(&format!("{base}{own_path}"), Duration::from_secs(20));
    (container, base)
}

/// `docker run --rm IMAGE` of a command-line image; its stdout.
fn run_to_completion(image: &str) -> String {
    docker(&["run", "--rm", "--label", "rust-multi-stage.test=1", image]).stdout
}

#[test]
fn rust_scratch_images_hold_exactly_their_files() {
    let mut listed: Vec<&str> = SCRATCH_IMAGES.iter().map(|(image, _)| *image).collect();
    listed.sort();
    let mut built: Vec<String> = catalog::images()
        .into_iter()
        .filter(|image| image.dockerfile == "rust.Dockerfile")
        .map(|image| image.tag)
        .collect();
    built.sort();
    assert_eq!(
        built, listed,
        "SCRATCH_IMAGES must list every rust.Dockerfile image of docker/images.tsv"
    );
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
    let mut labels = vec!["title", "description", "version", "licenses", "created"];
    // These two only when scripts/lib.sh knows them (a git commit, a public
    // `origin` remote): no label beats a made-up one.
    for (label, variable) in [("revision", "REVISION"), ("source", "SOURCE")] {
        let known = with_lib_sh(&format!("image_metadata && printf %s \"${variable}\""));
        if !known.stdout.is_empty() {
            labels.push(label);
        }
    }
    for (image, _) in SCRATCH_IMAGES {
        for label in &labels {
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

/// docker/images.tsv's budgets, the ones compare reports as targets.
#[test]
fn images_stay_within_their_size_budgets() {
    let budgeted: Vec<_> = catalog::images()
        .into_iter()
        .filter_map(|image| Some((image.budget_bytes?, image.tag)))
        .collect();
    assert!(
        budgeted.iter().any(|(_, tag)| tag == "who:rust"),
        "who:rust has no budget in docker/images.tsv"
    );
    for (budget, image) in budgeted {
        let size: u64 = image_field(&image, "{{.Size}}").parse().unwrap();
        assert!(
            size <= budget,
            "{image} is {size} bytes, over its budget of {budget} (docker/images.tsv)"
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
fn who_rust_tls_serves_https_with_a_mounted_certificate_and_becomes_healthy() {
    // WHO_TLS_IMAGE: a build under another tag (TAG_PREFIX) instead.
    let image = std::env::var("WHO_TLS_IMAGE").unwrap_or_else(|_| "who:rust-tls".to_owned());
    // Read-only and unprivileged, as who:rust runs; health every second.
    let https = HttpsContainer::run(
        &image,
        &[
            "--read-only",
            "--cap-drop",
            "ALL",
            "--health-interval",
            "1s",
        ],
    );
    https.wait_until_serving("/who", Duration::from_secs(20));
    https.container.wait_until_healthy(Duration::from_secs(20));
}

#[test]
fn hello_rust_prints_hello_world() {
    assert_eq!(run_to_completion("hello:rust"), "Hello world!\n");
}

#[test]
fn simple_script_rust_shows_the_output_txt_made_at_build_time() {
    let shown = run_to_completion("simple-script:rust");
    assert!(shown.starts_with("Hello from simple-script!\n"), "{shown}");
    assert!(shown.contains("File: /out/output.txt"), "{shown}");
}

#[test]
fn every_server_image_answers_on_8080() {
    let servers: Vec<_> = catalog::images()
        .into_iter()
        .filter(|image| image.kind == Kind::Server)
        .collect();
    assert!(!servers.is_empty(), "no server in docker/images.tsv");
    for image in servers {
        let tag = &image.tag;
        let (container, base) = serve(tag, &[]);
        // Its load paths: `/who` answers the hostname, `/` a greeting.
        for path in &image.paths {
            let (status, body) = http_get(&format!("{base}{path}"));
            assert_eq!(status, 200, "{tag} {path}");
            match path.as_str() {
                "/who" => assert_eq!(body, container.field("{{.Config.Hostname}}"), "{tag}"),
                "/" => {
                    let language = match image.language.as_str() {
                        "rust" => "Rust",
                        "go" => "Go",
                        other => panic!("{tag}: no greeting known in {other}"),
                    };
                    let greeting =
                        format!("Hello World from {language} in minimal Docker container\n");
                    assert_eq!(body, greeting, "{tag}");
                }
                other => panic!("{tag}: no answer known for {other}"),
            }
        }
    }
}

/// The command-line images of PROGRAM in the catalog, by tag.
fn cli_images_of(program: &str) -> Vec<String> {
    let tags: Vec<String> = catalog::images()
        .into_iter()
        .filter(|image| image.kind == Kind::Cli && image.program() == program)
        .map(|image| image.tag)
        .collect();
    assert!(!tags.is_empty(), "no {program} image in docker/images.tsv");
    tags
}

#[test]
fn every_hello_image_prints_hello_world() {
    for image in cli_images_of("hello") {
        assert_eq!(run_to_completion(&image), "Hello world!\n", "{image}");
    }
}

#[test]
fn every_simple_script_image_shows_a_file_made_at_build_time() {
    for image in cli_images_of("simple-script") {
        let shown = run_to_completion(&image);
        assert!(
            shown.contains("This file was generated"),
            "{image} showed {shown:?}"
        );
    }
}

#[test]
fn naive_images_are_far_bigger_than_their_multi_stage_twins() {
    let size = |tag: &str| -> u64 { image_field(tag, "{{.Size}}").parse().unwrap() };
    let pairs: Vec<_> = catalog::images()
        .into_iter()
        .filter_map(|image| Some((image.naive?, image.tag)))
        .collect();
    assert!(!pairs.is_empty(), "no naive twin in docker/images.tsv");
    for (naive_tag, multi_tag) in pairs {
        let (multi, naive) = (size(&multi_tag), size(&naive_tag));
        assert!(
            naive > 10 * multi,
            "{naive_tag} is {naive} bytes, its multi-stage twin {multi_tag} {multi}"
        );
    }
}

const SOURCE_LABEL: &str = "org.opencontainers.image.source";

/// `bash -c SCRIPT` in the workspace root, with scripts/lib.sh sourced.
fn with_lib_sh(script: &str) -> Outcome {
    Command::new("bash")
        .current_dir(root())
        .args(["-c", &format!("source scripts/lib.sh && {script}")])
        .outcome()
        .expect_success()
}

/// Builds `tag` with the real scripts/build-images.sh under `prefix`, from
/// `context` (the workspace when `None`), logging to `logs`; the image is
/// removed when the returned guard drops.
fn build_images_sh(tag: &str, prefix: &str, context: Option<&Path>, logs: &Path) -> TestImage {
    let mut command = Command::new(root().join("scripts/build-images.sh"));
    command
        .arg(tag)
        .env("TAG_PREFIX", prefix)
        .env("LOG_DIR", logs);
    if let Some(context) = context {
        command.env("CONTEXT", context);
    }
    let built = TestImage {
        tag: format!("{prefix}{tag}"),
    };
    command.outcome().expect_success();
    built
}

#[test]
fn lib_sh_makes_a_public_source_url_of_the_origin_remote_or_none() {
    let cases = [
        ("https://github.com/o/r.git", "https://github.com/o/r"),
        ("https://github.com/o/r", "https://github.com/o/r"),
        (
            "https://user:token@github.com/o/r.git",
            "https://github.com/o/r",
        ),
        ("git@github.com:o/r.git", "https://github.com/o/r"),
        (
            "ssh://git@gitlab.com:2222/o/r.git",
            "https://gitlab.com/o/r",
        ),
        ("/srv/git/r.git", ""),
        ("../r", ""),
        ("file:///srv/git/r.git", ""),
        ("", ""),
    ];
    for (remote, expected) in cases {
        let derived = with_lib_sh(&format!("public_url '{remote}'")).stdout;
        assert_eq!(derived.trim_end(), expected, "{remote:?}");
    }
}

#[test]
fn no_image_label_is_a_placeholder_and_the_source_is_the_derived_one() {
    // What scripts/lib.sh derives for this checkout: empty when there is no
    // public `origin` remote, and then no image may claim a source.
    let source = with_lib_sh("image_metadata && printf %s \"$SOURCE\"").stdout;
    for image in catalog::images() {
        let tag = &image.tag;
        let labels = image_labels(tag);
        for (key, value) in &labels {
            let lower = value.to_lowercase();
            assert!(
                !value.trim().is_empty()
                    && lower != "unknown"
                    && lower != "<no value>"
                    && !lower.contains("example.com")
                    && !lower.contains("github.com/example"),
                "{tag}: label {key} is a placeholder: {value:?}"
            );
        }
        match labels.get(SOURCE_LABEL) {
            Some(value) => assert_eq!(value, &source, "{tag}: {SOURCE_LABEL}"),
            // The images that carry OCI labels carry this one when it is known.
            None if labels.contains_key("org.opencontainers.image.title") => assert!(
                source.is_empty(),
                "{tag} has no {SOURCE_LABEL}, though lib.sh derives {source}"
            ),
            None => {}
        }
    }
}

#[test]
fn build_images_sh_run_directly_builds_what_make_images_built() {
    // hello:rust: the smallest image with the OCI labels; cached, it builds
    // in seconds.
    let tag = "hello:rust";
    let logs = tempfile::tempdir().unwrap();
    let direct = build_images_sh(tag, &unique_prefix("catalog-test"), None, logs.path());
    assert_eq!(
        image_labels(&direct.tag),
        image_labels(tag),
        "labels differ from {tag}'s (is it stale? run `make images`)"
    );
    assert_eq!(image_files(&direct.tag), image_files(tag), "files differ");
}

#[test]
fn a_one_line_source_change_rebuilds_who_rust_without_recompiling_its_dependencies() {
    // A copy of the tracked tree with one line added to who-server, built by
    // the real script as `make images` runs it (its catalog and metadata),
    // with the copy as the build context, under another tag.
    let copy = tempfile::tempdir().unwrap();
    testkit::tree::copy_tracked(&root(), copy.path()).unwrap();
    // First the tree as it is, so that the cache holds its dependencies
    // whatever ran before: Docker's legacy builder follows the newest of
    // the cached chains, and a cold build of another program (another
    // `APP`) leaves a newer one that who:rust's build would miss on.
    let warm_logs = tempfile::tempdir().unwrap();
    drop(build_images_sh(
        "who:rust",
        &unique_prefix("cache-warm"),
        Some(copy.path()),
        warm_logs.path(),
    ));
    let main_rs = copy.path().join("who-server/src/main.rs");
    let mut source = std::fs::read_to_string(&main_rs).unwrap();
    // Unique, or a second run would find this very change in the cache.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    source.push_str(&format!("// a one-line change, {nonce}\n"));
    std::fs::write(&main_rs, source).unwrap();

    let logs = tempfile::tempdir().unwrap();
    drop(build_images_sh(
        "who:rust",
        &unique_prefix("cache-test"),
        Some(copy.path()),
        logs.path(),
    ));

    // The docker CLI colours what a build step writes to stderr.
    let log = strip_ansi_escapes::strip_str(
        std::fs::read_to_string(logs.path().join("who-rust.log")).unwrap(),
    );
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

/// Polls the container's health until it is `status`, for at most `limit`.
fn wait_for_health(container: &Container, status: &str, limit: Duration) {
    let start = Instant::now();
    let mut now = String::new();
    while start.elapsed() < limit {
        now = container.field("{{.State.Health.Status}}");
        if now == status {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("container health is {now:?} after {limit:?}, expected {status:?}");
}

#[test]
fn who_rust_with_allow_health_override_goes_unhealthy_on_post_503_and_back_on_post_200() {
    // WHO_IMAGE: a build under another tag (TAG_PREFIX) instead of who:rust.
    let image = std::env::var("WHO_IMAGE").unwrap_or_else(|_| "who:rust".to_owned());
    let container = Container::run(&[
        "-p",
        "127.0.0.1::8080",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        &image,
        "--allow-health-override",
    ]);
    let base = format!("http://127.0.0.1:{}", container.published_port());
    container.wait_until_serving(&format!("{base}/health"), Duration::from_secs(20));
    container.wait_until_healthy(Duration::from_secs(20));
    let post = |status: &str| {
        ureq::post(&format!("{base}/health"))
            .timeout(Duration::from_secs(5))
            .send_string(status)
            .unwrap_or_else(|e| panic!("POST {status} to /health: {e}"))
            .status()
    };
    assert_eq!(post("503"), 200);
    wait_for_health(&container, "unhealthy", Duration::from_secs(20));
    assert_eq!(post("200"), 200);
    wait_for_health(&container, "healthy", Duration::from_secs(20));
}
