//! `simple-script show` streams: memory stays small whatever it shows, and
//! write errors are still one line. Every run is bounded in time.

use std::fs::{self, File};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use testkit::{procfs, CommandExt};

const BIN: &str = env!("CARGO_BIN_EXE_simple-script");

/// How long a command that should end may run before it is killed and
/// the test fails: far beyond its normal time, even on a loaded machine.
const LIMIT: Duration = Duration::from_secs(20);

/// Memory limits of the issue: well above a streaming copy's (about 2 MB),
/// far below a file read whole.
const MAX_KIB: u64 = 8 * 1024;

/// A process's memory in KiB, from /proc/PID/status (`field` picks VmRSS
/// or VmHWM); None once the process has exited.
fn status_kib(pid: u32, field: fn(&procfs::Status) -> Option<u64>) -> Option<u64> {
    field(&procfs::status(pid).ok()?).map(|bytes| bytes / 1024)
}

/// Waits up to `limit` for `child` to exit, sampling its peak memory.
fn peak_until_exit(child: &mut Child, limit: Duration) -> (i32, u64) {
    let start = Instant::now();
    let mut peak = 0;
    loop {
        if let Some(kib) = status_kib(child.id(), |s| s.vm_hwm_bytes) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), peak);
        }
        assert!(start.elapsed() < limit, "still running after {limit:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

fn show(path: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command.arg("show").arg(path);
    command
}

#[test]
fn showing_a_2_gb_sparse_file_peaks_under_8_mb() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    File::create(&big).unwrap().set_len(2 << 30).unwrap();
    let mut child = show(&big)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, peak) = peak_until_exit(&mut child, Duration::from_secs(60));
    assert_eq!(code, 0);
    assert!(peak > 0 && peak < MAX_KIB, "peak RSS {peak} KiB");
}

#[test]
fn showing_dev_zero_for_a_second_keeps_memory_small() {
    let mut child = show("/dev/zero".as_ref())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_secs(1));
    let rss = status_kib(child.id(), |s| s.vm_rss_bytes).expect("still running");
    let _ = child.kill();
    let _ = child.wait();
    assert!(rss < MAX_KIB, "RSS {rss} KiB after a second of /dev/zero");
}

#[test]
fn showing_a_fifo_streams_what_comes_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    Command::new("mkfifo").arg(&fifo).outcome().expect_success();
    let mut child = show(&fifo).stdout(Stdio::null()).spawn().unwrap();
    // 64 MiB through the FIFO, then EOF; on a thread, as opening the FIFO
    // waits for a reader, which a broken `show` would never be.
    let (written, all_written) = std::sync::mpsc::channel();
    let path = fifo.clone();
    thread::spawn(move || {
        let mut writer = File::options().write(true).open(&path).unwrap();
        let block = vec![b'x'; 1 << 20];
        (0..64).for_each(|_| writer.write_all(&block).unwrap());
        drop(writer);
        let _ = written.send(());
    });
    let (code, peak) = peak_until_exit(&mut child, Duration::from_secs(30));
    assert_eq!(code, 0);
    all_written
        .recv_timeout(Duration::from_secs(5))
        .expect("show exited without reading the FIFO to its end");
    assert!(peak < MAX_KIB, "peak RSS {peak} KiB");
}

/// `show PATH` with stdout on `/dev/full`: every write fails with ENOSPC.
fn show_to_a_full_disk(text: &str) -> testkit::Outcome {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("output.txt");
    fs::write(&file, text).unwrap();
    show(&file)
        .stdout(File::create("/dev/full").unwrap())
        .outcome()
}

#[test]
fn show_to_a_full_disk_is_one_line_and_exit_1() {
    let out = show_to_a_full_disk("hello\n").expect_one_line_error(1);
    assert!(
        out.stderr
            .contains("cannot write to stdout: No space left on device"),
        "{out}"
    );
}

#[test]
fn show_to_a_full_disk_of_a_last_line_without_newline_is_one_line_and_exit_1() {
    // stdout is line-buffered: a tail with no newline is written by the
    // final flush, whose failure is reported the same way.
    let out = show_to_a_full_disk("no newline").expect_one_line_error(1);
    assert!(
        out.stderr
            .contains("cannot write to stdout: No space left on device"),
        "{out}"
    );
}

#[test]
fn show_to_a_closed_pipe_exits_0_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    File::create(&big).unwrap().set_len(64 << 20).unwrap();
    // `| head -c0` without the race: the reader is gone before `show`
    // starts, so every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = show(&big).stdout(writer).outcome().expect_success();
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn show_to_a_closed_pipe_of_a_last_line_without_newline_exits_0_quietly() {
    // The one write is buffered and fails only at the final flush.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("output.txt");
    fs::write(&file, "no newline").unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = show(&file).stdout(writer).outcome().expect_success();
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn show_of_an_unreadable_path_says_it_cannot_read_it() {
    let out = show("/proc/self/mem".as_ref())
        .outcome_within(LIMIT)
        .expect_one_line_error(1);
    assert!(out.stderr.contains("cannot read /proc/self/mem: "), "{out}");
}
