use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;
use testkit::{CommandExt, Outcome};

const BIN: &str = env!("CARGO_BIN_EXE_simple-script");

/// How long a command that should end may run before it is killed and
/// the test fails: far beyond its normal time, even on a loaded machine.
const LIMIT: Duration = Duration::from_secs(20);

/// `simple-script ARGS` run in `dir`, with `SOURCE_DATE_EPOCH` if given.
fn simple_script_in(dir: &Path, args: &[&str], source_date_epoch: Option<&str>) -> Outcome {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH");
    if let Some(epoch) = source_date_epoch {
        command.env("SOURCE_DATE_EPOCH", epoch);
    }
    command.outcome_within(LIMIT)
}

fn generated_dir() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    simple_script_in(dir.path(), &["generate"], None).expect_success();
    dir
}

fn files_in(dir: &Path) -> usize {
    fs::read_dir(dir).unwrap().count()
}

#[test]
fn generate_writes_output_txt_in_the_current_directory() {
    let dir = generated_dir();
    let text = fs::read_to_string(dir.path().join("output.txt")).unwrap();
    assert!(text.contains("simple-script"), "{text}");
    let host = hostname::get().unwrap();
    assert!(
        text.contains(&format!("Host: {}", host.to_string_lossy())),
        "{text}"
    );
}

#[test]
fn generate_takes_its_time_from_source_date_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["generate", "--out", "report.txt"];
    simple_script_in(dir.path(), &args, Some("1700000000")).expect_success();
    let text = fs::read_to_string(dir.path().join("report.txt")).unwrap();
    assert!(text.contains("Time: 2023-11-14T22:13:20Z"), "{text}");
}

#[test]
fn generate_makes_a_file_every_user_can_read() {
    // The image's run stage reads it as a non-root user.
    let dir = generated_dir();
    let mode = fs::metadata(dir.path().join("output.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o444, 0o444, "mode {mode:o}");
}

#[test]
fn show_prints_what_generate_wrote() {
    let dir = generated_dir();
    let shown = simple_script_in(dir.path(), &["show"], None).expect_success();
    assert_eq!(
        shown.stdout,
        fs::read_to_string(dir.path().join("output.txt")).unwrap()
    );
}

#[test]
fn a_bad_source_date_epoch_is_one_line_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    simple_script_in(dir.path(), &["generate"], Some("yesterday")).expect_one_line_error(1);
    assert_eq!(files_in(dir.path()), 0, "files were left behind");
}

#[test]
fn a_failed_generate_leaves_the_previous_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output.txt");
    fs::write(&output, "previous\n").unwrap();
    simple_script_in(dir.path(), &["generate"], Some("-1")).expect_one_line_error(1);
    assert_eq!(fs::read_to_string(&output).unwrap(), "previous\n");
    assert_eq!(files_in(dir.path()), 1, "a temporary file was left behind");
}

#[test]
fn a_missing_directory_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = simple_script_in(
        dir.path(),
        &["generate", "--out", "no/such/dir/output.txt"],
        None,
    )
    .expect_one_line_error(1);
    assert!(
        out.stderr.starts_with("simple-script: cannot write"),
        "{out}"
    );
}

#[test]
fn generate_writes_its_temporary_file_next_to_the_output_not_in_the_current_directory() {
    // /proc takes no new file, even from root: a temporary file made in
    // the current directory would fail.
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output.txt");
    simple_script_in(
        Path::new("/proc"),
        &["generate", "--out", output.to_str().unwrap()],
        None,
    )
    .expect_success();
    assert!(fs::read_to_string(&output)
        .unwrap()
        .contains("simple-script"));
    assert_eq!(files_in(dir.path()), 1, "a temporary file was left behind");
}

#[test]
fn generate_in_a_current_directory_that_takes_no_file_is_one_line_and_exit_1() {
    let out = simple_script_in(Path::new("/proc"), &["generate"], None).expect_one_line_error(1);
    assert!(
        out.stderr
            .starts_with("simple-script: cannot write output.txt: "),
        "{out}"
    );
}

#[test]
fn a_directory_given_as_the_output_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        simple_script_in(dir.path(), &["generate", "--out", "."], None).expect_one_line_error(1);
    assert!(out.stderr.contains("is a directory"), "{out}");
}

#[test]
fn show_of_a_missing_file_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = simple_script_in(dir.path(), &["show"], None).expect_one_line_error(1);
    assert!(out.stderr.contains("No such file"), "{out}");
}

#[test]
fn show_of_a_directory_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = simple_script_in(dir.path(), &["show", "."], None).expect_one_line_error(1);
    assert!(out.stderr.contains("Is a directory"), "{out}");
}

#[test]
fn a_missing_subcommand_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = simple_script_in(dir.path(), &[], None).expect_code(2);
    assert!(out.stderr.contains("Usage"), "{out}");
}
