//! `compare`: the Rust images against the originals they rewrite, measured
//! in one run and written to results/compare.{json,md,svg}.
//!
//! Whatever way the run ends (done, error, panic, Ctrl-C, SIGTERM), every
//! container it made is removed: they all carry one label with this
//! process's pid, and the last thing main does is remove those. At start it
//! removes what earlier runs that died (SIGKILL) left.

mod build;

mod cli;
mod docker;
mod machine;
mod measure;
mod progress;
mod ratios;
mod record;
mod report;
mod run;
mod stats;
mod targets;

use std::process::ExitCode;

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};

use crate::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One clear line, not clap's usage block.
            let text = e.render().to_string();
            eprintln!(
                "compare: {}",
                text.lines()
                    .next()
                    .unwrap_or("bad arguments")
                    .trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    if let Some(json) = &cli.from_json {
        return rerender(json, &cli);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("compare: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(compare(cli))
}

async fn compare(cli: Cli) -> ExitCode {
    let fail = |code: u8, e: anyhow::Error| {
        eprintln!("compare: {e:#}");
        ExitCode::from(code)
    };
    let specs = match chosen_images(&cli) {
        Ok(specs) => specs,
        Err(e) => return fail(2, e),
    };
    let docker = match docker::connect().await {
        Ok(docker) => docker,
        Err(e) => return fail(1, e),
    };
    match docker::sweep(&docker, docker::Sweep::Orphans).await {
        Ok(0) => {}
        Ok(n) => eprintln!("compare: removed {n} container(s) left by an earlier run"),
        Err(e) => return fail(1, e.context("cannot list containers")),
    }
    let (out, readme) = (cli.out.clone(), cli.readme.clone());
    // The report so far, after every step: the README waits for the end.
    let partial = out.clone();
    let write = move |report: &record::Report| {
        if let Err(e) = report::write_all(report, &partial) {
            eprintln!("compare: the report so far: {e:#}");
        }
    };
    let mut work = tokio::spawn(run::run(cli, specs, docker.clone(), write));
    let outcome = tokio::select! {
        joined = &mut work => Ok(joined),
        (signal, code) = shutdown_signal() => {
            // Dropping the work kills wrk (kill_on_drop) and ends its requests.
            work.abort();
            let _ = work.await;
            eprintln!(
                "compare: {signal}: stopped; {} holds the report up to the last step \
                 (its \"Not reached\" names the images it did not finish)",
                out.join("compare.md").display()
            );
            Err(code)
        }
    };
    let cleaned = docker::sweep(&docker, docker::Sweep::Own).await;
    if let Err(e) = &cleaned {
        eprintln!(
            "compare: cannot remove its containers (label {}): {e:#}",
            docker::LABEL
        );
    }
    let report = match outcome {
        Err(code) => return ExitCode::from(code),
        Ok(Err(panic)) => return fail(1, anyhow::anyhow!("the run crashed: {panic}")),
        Ok(Ok(report)) => report,
    };
    if !write_report(&report, &out, readme.as_deref()) {
        return ExitCode::FAILURE;
    }
    let failed = report.images.iter().filter(|i| !i.is_ok()).count();
    if failed > 0 || cleaned.is_err() {
        eprintln!(
            "compare: {failed} of {} image(s) failed; see the Failures section",
            report.images.len()
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The catalog's images the command line names (all of them by default).
fn chosen_images(cli: &Cli) -> anyhow::Result<Vec<benchkit::catalog::CatalogImage>> {
    let all = benchkit::catalog::read(&cli.context).map_err(anyhow::Error::msg)?;
    if cli.images.is_empty() {
        return Ok(all);
    }
    cli.images
        .iter()
        .map(|tag| {
            let tag = tag.trim();
            all.iter().find(|s| s.tag == tag).cloned().ok_or_else(|| {
                anyhow::anyhow!(
                    "{tag:?} is not in {} (e.g. who:rust)",
                    benchkit::catalog::CATALOG
                )
            })
        })
        .collect()
}

/// Writes the report's files (and the README's table when asked) and
/// prints the tables; false (said) on failure.
fn write_report(
    report: &record::Report,
    out: &std::path::Path,
    readme: Option<&std::path::Path>,
) -> bool {
    let written = report::write_all(report, out).and_then(|mut paths| {
        if let Some(readme) = readme {
            report::update_readme(report, readme)?;
            paths.push(readme.to_owned());
        }
        Ok(paths)
    });
    match written {
        Ok(paths) => {
            println!("{}", report::markdown(report));
            for path in paths {
                eprintln!("wrote {}", path.display());
            }
            true
        }
        Err(e) => {
            eprintln!("compare: {e:#}");
            false
        }
    }
}

fn rerender(json: &std::path::Path, cli: &Cli) -> ExitCode {
    let read = std::fs::read(json)
        .map_err(anyhow::Error::from)
        .and_then(|bytes| Ok(serde_json::from_slice::<record::Report>(&bytes)?));
    let catalog = benchkit::catalog::read(&cli.context).map_err(anyhow::Error::msg);
    match read.and_then(|report| Ok((report, catalog?))) {
        Ok((mut report, catalog)) => {
            // Targets are judgements of the measured figures: judged again
            // (with today's budgets), so a change to a target shows in the
            // old run's report too.
            targets::judge_again(&mut report, &catalog);
            if write_report(&report, &cli.out, cli.readme.as_deref()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("compare: cannot read {}: {e:#}", json.display());
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM: its name and the exit code
/// a shell gives a process it ends (128 + the signal's number).
async fn shutdown_signal() -> (&'static str, u8) {
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without handlers the default action ends the process: nothing to wait for.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => ("interrupted", 130),
        _ = term.recv() => ("terminated", 143),
    }
}
