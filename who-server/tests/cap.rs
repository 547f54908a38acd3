//! `--max-connections N` across workers: a client is served whenever fewer
//! than N connections are held, whichever worker or socket the kernel hands
//! it to, and waits only when N are (issue 20).
//!
//! Each round fills the cap from new connections, so from new source ports
//! (which is what a kernel spreading clients over sockets hashes), and
//! checks the N-th and (N+1)-th clients. A design where some worker can sit
//! on the last free slot while the client waits elsewhere fails a round now
//! and then, so every test runs many.

mod common;

use common::process;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::answer::answer_within;

/// How long a client may wait for its answer while a slot is free.
const SERVED_WITHIN: Duration = Duration::from_secs(1);
/// How long the client past the cap is watched for an answer it must not get.
const HELD_BACK_FOR: Duration = Duration::from_millis(300);
const ROUNDS: usize = 12;
const CAP: usize = 6;

/// A keep-alive client that has sent `GET /who`.
fn ask(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("the kernel accepts into the backlog");
    stream
        .write_all(b"GET /who HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send the request");
    stream
}

/// One round against a server capped at `cap`: what went wrong, if anything.
fn round(addr: SocketAddr, cap: usize) -> Result<(), String> {
    let mut held = Vec::new();
    for i in 1..cap {
        let mut client = ask(addr);
        answer_within(&mut client, SERVED_WITHIN).ok_or_else(|| {
            format!(
                "client {i} waited over {SERVED_WITHIN:?} while {} were held",
                i - 1
            )
        })?;
        held.push(client);
    }
    let mut last = ask(addr);
    answer_within(&mut last, SERVED_WITHIN).ok_or_else(|| {
        format!("the {cap}th client waited over {SERVED_WITHIN:?} with one slot free")
    })?;
    held.push(last);
    let mut over = ask(addr);
    if answer_within(&mut over, HELD_BACK_FOR).is_some() {
        return Err(format!("client {} was served past the cap", cap + 1));
    }
    drop(held.remove(0));
    answer_within(&mut over, SERVED_WITHIN).ok_or_else(|| {
        format!(
            "client {} waited over {SERVED_WITHIN:?} after a slot was freed",
            cap + 1
        )
    })?;
    Ok(())
}

/// Runs `ROUNDS` rounds on who-server with `workers` and `cap`, and fails
/// with how many rounds went wrong and how.
fn every_round_passes(workers: &str, cap: usize) {
    let server = process::start(&["--workers", workers, "--max-connections", &cap.to_string()]);
    let failures: Vec<String> = (0..ROUNDS)
        .filter_map(|_| {
            let failed = round(server.addr, cap).err();
            // Every connection of the round is closed: let the server see it.
            std::thread::sleep(Duration::from_millis(50));
            failed
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {ROUNDS} rounds failed with {workers} workers, cap {cap}: {failures:#?}",
        failures.len()
    );
}

#[test]
fn with_one_worker_a_free_slot_serves_at_once_and_a_full_cap_holds_the_next_client_back() {
    every_round_passes("1", CAP);
}

#[test]
fn with_two_workers_a_free_slot_serves_at_once_and_a_full_cap_holds_the_next_client_back() {
    every_round_passes("2", CAP);
}

#[test]
fn with_four_workers_a_free_slot_serves_at_once_and_a_full_cap_holds_the_next_client_back() {
    every_round_passes("4", CAP);
}

#[test]
fn with_a_cap_of_one_and_two_workers_each_client_is_served_once_the_one_before_leaves() {
    every_round_passes("2", 1);
}
