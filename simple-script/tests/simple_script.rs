use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use testkit::CommandExt;

const BIN: &str = env!("CARGO_BIN_EXE_simple-script");

fn simple_script() -> Command {
    Command::new(BIN)
}

#[test]
fn generate_writes_output_txt_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    simple_script()
        .arg("generate")
        .current_dir(&dir)
        .outcome()
        .expect_success();
    let text = fs::read_to_string(dir.path().join("output.txt")).unwrap();
    assert!(text.contains("simple-script"), "{text}");
    assert!(
        text.contains(&format!(
            "Host: {}",
            hostname::get().unwrap().to_string_lossy()
        )),
        "{text}"
    );
}

#[test]
fn generate_takes_its_time_from_source_date_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.txt");
    simple_script()
        .args(["generate", "--out"])
        .arg(&out)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .outcome()
        .expect_success();
    let text = fs::read_to_string(&out).unwrap();
    assert!(text.contains("Time: 2023-11-14T22:13:20Z"), "{text}");
}

#[test]
fn generate_makes_a_file_every_user_can_read() {
    // The image's run stage reads it as a non-root user.
    let dir = tempfile::tempdir().unwrap();
    simple_script()
        .arg("generate")
        .current_dir(&dir)
        .outcome()
        .expect_success();
    let mode = fs::metadata(dir.path().join("output.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o444, 0o444, "mode {mode:o}");
}

#[test]
fn show_prints_what_generate_wrote() {
    let dir = tempfile::tempdir().unwrap();
    simple_script()
        .arg("generate")
        .current_dir(&dir)
        .outcome()
        .expect_success();
    let shown = simple_script()
        .arg("show")
        .current_dir(&dir)
        .outcome()
        .expect_success();
    assert_eq!(
        shown.stdout,
        fs::read_to_string(dir.path().join("output.txt")).unwrap()
    );
}

#[test]
fn a_bad_source_date_epoch_is_one_line_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = simple_script()
        .arg("generate")
        .current_dir(&dir)
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .outcome()
        .expect_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        0,
        "files were left behind"
    );
}

#[test]
fn a_missing_directory_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/output.txt");
    let out = simple_script()
        .args(["generate", "--out"])
        .arg(&missing)
        .outcome()
        .expect_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(
        out.stderr.starts_with("simple-script: cannot write"),
        "{out}"
    );
}

#[test]
fn a_failed_generate_leaves_the_previous_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("output.txt"), "previous\n").unwrap();
    simple_script()
        .arg("generate")
        .current_dir(&dir)
        .env("SOURCE_DATE_EPOCH", "-1")
        .outcome()
        .expect_code(1);
    assert_eq!(
        fs::read_to_string(dir.path().join("output.txt")).unwrap(),
        "previous\n"
    );
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        1,
        "a temporary file was left behind"
    );
}

#[test]
fn a_directory_given_as_the_output_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = simple_script()
        .args(["generate", "--out"])
        .arg(dir.path())
        .outcome()
        .expect_code(1);
    assert!(out.stderr.contains("is a directory"), "{out}");
}

#[test]
fn show_of_a_missing_file_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = simple_script()
        .arg("show")
        .current_dir(&dir)
        .outcome()
        .expect_code(1);
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.contains("No such file"), "{out}");
}

#[test]
fn show_of_a_directory_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = simple_script()
        .arg("show")
        .arg(dir.path())
        .outcome()
        .expect_code(1);
    assert!(out.stderr.contains("Is a directory"), "{out}");
}

#[test]
fn a_missing_subcommand_is_a_usage_error() {
    let out = simple_script().outcome().expect_code(2);
    assert!(out.stderr.contains("Usage"), "{out}");
}
