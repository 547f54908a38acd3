use std::fs::File;
use std::process::Command;

use testkit::CommandExt;

const BIN: &str = env!("CARGO_BIN_EXE_hello");

#[test]
fn it_prints_hello_world_and_exits_0() {
    let out = Command::new(BIN).outcome().expect_success();
    assert_eq!(out.stdout, "Hello world!\n", "{out}");
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn a_closed_stdout_exits_0_quietly() {
    // Like `hello | head -c0`, without the race: the reader is gone before
    // hello starts, so its one write always meets a broken pipe (Rust's
    // runtime ignores SIGPIPE, so the write fails with EPIPE instead).
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
    assert_eq!(
        out.stderr, "hello: cannot write to stdout: No space left on device (os error 28)\n",
        "{out}"
    );
}
