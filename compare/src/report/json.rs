//! compare.json: the report as `record.rs` defines it, pretty-printed.

use anyhow::Result;

use crate::record::Report;

pub fn render(report: &Report) -> Result<String> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read back and written again, the committed run is unchanged to the
    /// last digit, and its targets are the ones today's rules give.
    #[test]
    fn the_committed_results_read_back_and_judged_again_are_unchanged() {
        let root = testkit::root();
        let committed = std::fs::read_to_string(root.join("results/compare.json")).unwrap();
        let mut report: Report = serde_json::from_str(&committed).unwrap();
        let catalog = benchkit::catalog::read(&root).unwrap();
        crate::targets::judge_again(&mut report, &catalog);
        assert!(
            render(&report).unwrap() == committed,
            "results/compare.json is not what reading it back gives: run \
             `cargo run -p compare -- --from-json results/compare.json --readme README.md`"
        );
    }
}
