use std::process::{Command, Stdio};

use testkit::CommandExt;

const BIN: &str = env!("CARGO_BIN_EXE_hello");

#[test]
fn it_prints_hello_world_and_exits_0() {
    let out = Command::new(BIN).outcome().expect_success();
    assert_eq!(out.stdout, "Hello world!\n", "{out}");
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    // Like `hello | head -c0`: the reader is gone before hello writes.
    let mut child = Command::new(BIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
