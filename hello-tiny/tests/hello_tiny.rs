//! The binary as a process: its output, its exit codes, and what it does when
//! stdout cannot take the line.

use std::fs::File;
use std::process::Command;

use testkit::CommandExt;

const BIN: &str = env!("CARGO_BIN_EXE_hello-tiny");

#[test]
fn it_prints_hello_world_and_exits_0() {
    let out = Command::new(BIN).outcome().expect_success();
    assert_eq!(out.stdout, "Hello world!\n", "{out}");
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn a_closed_stdout_exits_0_quietly() {
    // Like `hello-tiny | head -c0`, without the race: the reader is gone
    // before hello-tiny starts. std's Command resets SIGPIPE to its default
    // in the child, so this fails (killed by SIGPIPE) unless hello-tiny
    // ignores it itself.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN).stdout(writer).outcome().expect_success();
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn a_full_device_is_an_error_with_one_line_on_stderr() {
    let full = File::create("/dev/full").unwrap();
    let out = Command::new(BIN)
        .stdout(full)
        .outcome()
        .expect_one_line_error(1);
    assert_eq!(out.stderr, "hello-tiny: cannot write to stdout\n", "{out}");
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
