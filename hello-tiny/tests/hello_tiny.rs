//! The binary as a process: its output, its exit codes, and what it does when
//! stdout cannot take the line. The aarch64 build (hello:rust-tiny-arm64's,
//! linked by rust-lld) runs the first three through qemu-aarch64-static.

use std::fs::File;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use testkit::CommandExt;

const BIN: &str = env!("CARGO_BIN_EXE_hello-tiny");
/// The rustc flags the image build gives hello-tiny, from their one file.
const TINY_RUSTFLAGS: &str = include_str!("../rustflags").trim_ascii();

fn prints_hello_world_and_exits_0(mut hello: Command) {
    let out = hello.outcome().expect_success();
    assert_eq!(out.stdout, "Hello world!\n", "{out}");
    assert_eq!(out.stderr, "", "{out}");
}

// Test code, as the #[test] functions it was in, where clippy allows
// std::io::pipe (1.87) under the workspace's MSRV (1.85).
#[allow(clippy::incompatible_msrv)]
fn exits_0_quietly_on_a_closed_stdout(mut hello: Command) {
    // Like `hello-tiny | head -c0`, without the race: the reader is gone
    // before hello-tiny starts. std's Command resets SIGPIPE to its default
    // in the child, so this fails (killed by SIGPIPE) unless hello-tiny
    // ignores it itself.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = hello.stdout(writer).outcome().expect_success();
    assert_eq!(out.stderr, "", "{out}");
}

fn fails_with_one_line_on_a_full_device(mut hello: Command) {
    let full = File::create("/dev/full").unwrap();
    let out = hello.stdout(full).outcome().expect_one_line_error(1);
    assert_eq!(out.stderr, "hello-tiny: cannot write to stdout\n", "{out}");
}

#[test]
fn it_prints_hello_world_and_exits_0() {
    prints_hello_world_and_exits_0(Command::new(BIN));
}

#[test]
fn a_closed_stdout_exits_0_quietly() {
    exits_0_quietly_on_a_closed_stdout(Command::new(BIN));
}

#[test]
fn a_full_device_is_an_error_with_one_line_on_stderr() {
    fails_with_one_line_on_a_full_device(Command::new(BIN));
}

/// hello-tiny built as docker/rust.Dockerfile builds it for arm64 (release,
/// musl, hello-tiny/rustflags, rust-lld), once, in this test's own target
/// directory; checked static as the builder checks it.
fn aarch64_binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let target = "aarch64-unknown-linux-musl";
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("aarch64");
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        Command::new(env!("CARGO"))
            .args(["build", "--release", "--locked", "--target", target])
            .args(["--manifest-path", manifest, "--target-dir"])
            .arg(&dir)
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env(
                "RUSTFLAGS",
                format!("-C target-feature=+crt-static {TINY_RUSTFLAGS}"),
            )
            .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER", "rust-lld")
            .outcome()
            .expect_success();
        let binary = dir.join(target).join("release/hello-tiny");
        let headers = Command::new("readelf")
            .arg("-lW")
            .arg(&binary)
            .outcome()
            .expect_success();
        assert!(!headers.stdout.contains("INTERP"), "{headers}");
        binary
    })
}

/// The aarch64 binary under qemu-aarch64-static (`make bootstrap`).
fn aarch64_hello() -> Command {
    let mut qemu = Command::new("qemu-aarch64-static");
    qemu.arg(aarch64_binary());
    qemu
}

#[test]
fn on_aarch64_it_prints_hello_world_and_exits_0() {
    prints_hello_world_and_exits_0(aarch64_hello());
}

#[test]
fn on_aarch64_a_closed_stdout_exits_0_quietly() {
    exits_0_quietly_on_a_closed_stdout(aarch64_hello());
}

#[test]
fn on_aarch64_a_full_device_is_an_error_with_one_line_on_stderr() {
    fails_with_one_line_on_a_full_device(aarch64_hello());
}

#[test]
fn a_short_write_is_continued_and_its_failure_reported() {
    // A file size limit of 5 bytes: the first write(2) writes "Hello" and
    // returns 5; the next one, for the rest, fails with EFBIG (SIGXFSZ is
    // ignored by the shell, and so in hello-tiny after exec).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    let out = Command::new("bash")
        .args([
            "-c",
            r#"trap '' XFSZ; exec prlimit --fsize=5 -- "$0" >"$1""#,
        ])
        .arg(BIN)
        .arg(&file)
        .outcome()
        .expect_one_line_error(1);
    assert_eq!(out.stderr, "hello-tiny: cannot write to stdout\n", "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "Hello");
}
