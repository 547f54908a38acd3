//! The descriptor limit against `--max-connections`, under `prlimit`.

mod common;

use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::process::{exchange, ServerProcess, BIN, GET_WHO};

fn under_prlimit(nofile: &str) -> Command {
    let mut command = Command::new("prlimit");
    command.arg(format!("--nofile={nofile}")).arg(BIN);
    command
}

#[test]
fn a_cap_that_does_not_fit_the_descriptor_limit_is_lowered_in_one_line_and_clients_are_served() {
    let mut server = ServerProcess::start_with(
        under_prlimit("64:64"),
        &["--workers", "1"],
        std::process::Stdio::piped(),
    );
    // More clients than fit: the ones past the cap wait in the backlog
    // instead of making accept fail.
    let idle: Vec<TcpStream> = (0..60)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    drop(idle);
    let answer = exchange(server.addr, GET_WHO);
    assert!(answer.starts_with(b"HTTP/1.1 200 OK"), "{answer:?}");
    let log = server.stop();
    assert_eq!(
        log,
        "who-server: --max-connections 1024 does not fit in the 64 descriptors this process may \
         open (RLIMIT_NOFILE); serving at most 44 connections at once\n"
    );
}

#[test]
fn the_soft_descriptor_limit_is_raised_to_the_hard_one() {
    let server = ServerProcess::start_with(
        under_prlimit("64:4096"),
        &["--workers", "1"],
        std::process::Stdio::piped(),
    );
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().collect::<Vec<_>>()[3..5],
        ["4096", "4096"],
        "{open_files}"
    );
}

#[test]
fn a_cap_that_fits_is_served_without_a_word() {
    let mut server = ServerProcess::start_with(
        under_prlimit("64:64"),
        &["--workers", "1", "--max-connections", "44"],
        std::process::Stdio::piped(),
    );
    assert!(exchange(server.addr, GET_WHO).starts_with(b"HTTP/1.1 200 OK"));
    assert_eq!(server.stop(), "");
}

#[test]
fn a_cap_that_fits_only_the_raised_limit_is_served_without_a_word() {
    // 1024 connections do not fit in the soft limit of 64, but do in the
    // hard limit of 4096 that the server raises it to.
    let mut server = ServerProcess::start_with(
        under_prlimit("64:4096"),
        &["--workers", "1"],
        std::process::Stdio::piped(),
    );
    assert!(exchange(server.addr, GET_WHO).starts_with(b"HTTP/1.1 200 OK"));
    assert_eq!(server.stop(), "");
}
