//! What a scanner or an auditor can learn from the images, and whether the
//! binaries can be rebuilt bit for bit: the embedded dependency list
//! (`cargo auditable`) read back by rust-audit-info and by syft, and two
//! builds compared by sha256, in the image build and on the host. The
//! tools come from `make bootstrap`; a missing one is a failure, not a skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use testkit::docker::{docker, image_field, require_docker, unique_prefix, Container, TestImage};
use testkit::{root, CommandExt};

/// `tool ARGS`, which must be installed; its stdout.
#[track_caller]
fn tool(tool: &str, args: &[&str]) -> String {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    assert!(on_path, "{tool} is not on PATH: run `make bootstrap`");
    Command::new(tool)
        .args(args)
        .outcome()
        .expect_success()
        .stdout
}

/// Copies `path` out of `image` (a container created, never started) into
/// `dir`; the copy's path.
fn copy_out(image: &str, path: &str, dir: &Path) -> PathBuf {
    image_field(image, "{{.Id}}");
    let id = docker(&["create", "--label", "rust-multi-stage.test=1", image])
        .stdout
        .trim()
        .to_owned();
    let container = Container { id };
    let name = Path::new(path).file_name().unwrap();
    let to = dir.join(name);
    docker(&[
        "cp",
        &format!("{}:{path}", container.id),
        to.to_str().unwrap(),
    ]);
    to
}

fn sha256(path: &Path) -> String {
    let out = tool("sha256sum", &[path.to_str().unwrap()]);
    out.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn who_server_in_who_rust_carries_its_dependency_list() {
    require_docker();
    let dir = tempfile::tempdir().unwrap();
    let binary = copy_out("who:rust", "/who-server", dir.path());
    let json = tool("rust-audit-info", &[binary.to_str().unwrap()]);
    let audit: Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = audit["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("no packages in {json}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for crate_name in ["who-server", "hyper", "tokio", "clap"] {
        assert!(names.contains(&crate_name), "{crate_name} not in {names:?}");
    }
}

/// The packages `syft docker:IMAGE` finds: (name, type) pairs.
fn syft_packages(image: &str) -> Vec<(String, String)> {
    image_field(image, "{{.Id}}");
    let json = tool("syft", &["-q", "-o", "json", &format!("docker:{image}")]);
    let sbom: Value = serde_json::from_str(&json).unwrap();
    sbom["artifacts"]
        .as_array()
        .unwrap_or_else(|| panic!("no artifacts in syft's answer for {image}"))
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn syft_lists_the_dependencies_of_who_rust_and_who_go() {
    require_docker();
    let rust = syft_packages("who:rust");
    for name in ["who-server", "hyper", "tokio", "clap"] {
        assert!(
            rust.contains(&(name.to_owned(), "rust-crate".to_owned())),
            "syft finds no {name} crate in who:rust: {rust:?}"
        );
    }
    // Go embeds its build info: the standard library and the module.
    let go = syft_packages("who:go");
    for name in ["stdlib", "who"] {
        assert!(
            go.contains(&(name.to_owned(), "go-module".to_owned())),
            "syft finds no {name} go-module in who:go: {go:?}"
        );
    }
}

#[test]
fn a_cold_rebuild_of_who_rust_gives_a_byte_identical_who_server() {
    // One more build, cold (--no-cache: every step runs again, the
    // dependencies compiled anew), against the one `make images` made.
    // A cold Rust build takes minutes: one, not two.
    require_docker();
    let prefix = unique_prefix("reproducible-test");
    let logs = tempfile::tempdir().unwrap();
    let rebuilt = TestImage {
        tag: format!("{prefix}who:rust"),
    };
    Command::new(root().join("scripts/build-images.sh"))
        .arg("who:rust")
        .env("TAG_PREFIX", &prefix)
        .env("BUILD_FLAGS", "--no-cache")
        .env("LOG_DIR", logs.path())
        .outcome()
        .expect_success();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let made = sha256(&copy_out("who:rust", "/who-server", a.path()));
    let again = sha256(&copy_out(&rebuilt.tag, "/who-server", b.path()));
    assert_eq!(
        made, again,
        "who-server differs between who:rust and a cold rebuild (is who:rust stale? run `make images`)"
    );
}

#[test]
fn two_host_builds_in_different_directories_give_a_byte_identical_who_server() {
    // Two copies of the tree at different paths, each with its own target
    // directory: nothing of where the build ran may reach the binary.
    let builds: Vec<String> = (0..2)
        .map(|_| {
            let tree = tempfile::tempdir().unwrap();
            testkit::tree::copy_tracked(&root(), tree.path()).unwrap();
            Command::new(env!("CARGO"))
                .current_dir(tree.path())
                .args(["build", "--release", "--locked", "-p", "who-server"])
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .outcome()
                .expect_success();
            sha256(&tree.path().join("target/release/who-server"))
        })
        .collect();
    assert_eq!(
        builds[0], builds[1],
        "who-server differs between the builds"
    );
}
