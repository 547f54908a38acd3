//! Measuring images: what is in one (once), and how it runs (once per round
//! and CPU setting, each time in a fresh container). A failure is kept in
//! the image's record; the other images and phases still run.

mod cache;
mod cgroup;
mod contention;
mod export;
mod filesystem;
mod idle;
mod image;
mod load;
mod pinning;
mod probe;
mod samples;
mod sbom;
mod start;
mod stop;
mod tls;

use std::sync::Arc;

use anyhow::Result;
use benchkit::{procfs, wrk};
use bollard::Docker;

pub use cache::{Cache, DIR as CACHE_DIR};
pub use image::declared_versions;
pub use pinning::{pinning, where_wrk_runs};
pub use samples::Samples;
pub use sbom::version as sbom_version;
pub use tls::TestCertificate;

use self::load::Transport;
use crate::progress::Progress;
use crate::record::{ImageRecord, Phase, Pinning};
use crate::stats::ms;
use benchkit::catalog::CatalogImage;

pub struct Measurer {
    pub docker: Docker,
    pub progress: Progress,
    pub load: wrk::Load,
    /// Layers' and images' facts by content, kept between runs.
    pub cache: Arc<Cache>,
    /// `syft --version`, None without syft.
    pub syft: Option<String>,
    /// The certificate the images that serve TLS get; None when no image
    /// chosen does (or it could not be made: said once, and their rounds fail).
    pub tls: Option<TestCertificate>,
}

/// One container of a server image: started, idle, loaded, stopped.
#[derive(Debug, Default)]
pub struct ServerRound {
    pub start_ms: f64,
    pub stop_ms: Option<f64>,
    pub exit_code: Option<i64>,
    pub idle: procfs::Status,
    pub peak: procfs::Status,
    pub loads: Vec<(String, load::Sample)>,
}

/// One run of a command-line image.
pub struct CliRound {
    pub start_ms: f64,
    pub exit_code: Option<i64>,
    pub first_line: Option<String>,
}

impl Measurer {
    /// Size, layers and contents: facts of the image, measured once.
    pub async fn facts(&self, image: &str, record: &mut ImageRecord) {
        self.progress.note(image, "inspect");
        let facts = match image::inspect(&self.docker, image).await {
            Ok(facts) => facts,
            Err(e) => return record.fail(Phase::Inspect, &e),
        };
        record.image_id = facts.id.clone();
        record.size_bytes = facts.size_bytes;
        record.layer_count = Some(facts.layer_count);
        record.user = Some(facts.user.clone());
        record.labels = facts.labels.clone();

        // The export (gzip in this process, tar in dockerd) and syft (its
        // own process) read the same image independently: side by side
        // they take the time of the longer one, not of both.
        self.progress
            .note(image, "export: gzip layers, list files; syft: packages");
        let (export, sbom) = tokio::join!(
            export::export(&self.docker, image, &facts.layers, &self.cache),
            self.package_count(image, &facts.layers),
        );
        match export {
            Ok(export) => {
                let fs = &export.filesystem;
                if export.layers_earlier > 0 {
                    let note = format!(
                        "{} of {} layers measured by an earlier run, by layer digest (--fresh: measured again)",
                        export.layers_earlier, export.layers
                    );
                    for field in EXPORT_FIELDS {
                        record.reused.insert((*field).to_owned(), note.clone());
                    }
                }
                record.compressed_size_bytes = Some(export.compressed_size_bytes);
                record.file_count = Some(fs.file_count());
                record.elf_file_count = Some(fs.elf_count());
                record.has_shell = Some(fs.resolve("/bin/sh").is_some());
                if let Some((path, size)) = facts
                    .command
                    .first()
                    .and_then(|program| fs.find_program(program, &facts.path_var))
                {
                    record.binary_path = Some(path);
                    record.binary_size_bytes = Some(size);
                }
            }
            Err(e) => record.fail(Phase::Export, &e),
        }
        match sbom {
            Ok(Some((count, Some(earlier)))) => {
                record.sbom_package_count = Some(count);
                record
                    .reused
                    .insert("sbom_package_count".to_owned(), earlier);
            }
            Ok(Some((count, None))) => record.sbom_package_count = Some(count),
            Ok(None) => {} // syft not installed: no count, no error
            Err(e) => record.fail(Phase::Sbom, &e),
        }
    }

    /// syft's package count for the image of these layers, from the cache
    /// when known, with the note saying so when an earlier run took it;
    /// None without syft.
    async fn package_count(
        &self,
        image: &str,
        layers: &[String],
    ) -> Result<Option<(usize, Option<String>)>> {
        let Some(syft) = &self.syft else {
            return Ok(None);
        };
        if let Some((count, earlier)) = self.cache.sbom(layers, syft) {
            // Of this run: another image of the same layers (one syft run).
            let note = earlier.then(|| {
                format!("{syft} on the same layers in an earlier run (--fresh: run again)")
            });
            return Ok(Some((count, note)));
        }
        let count = sbom::package_count(image).await?;
        if let Some(count) = count {
            self.cache.put_sbom(layers, syft, count);
        }
        Ok(count.map(|count| (count, None)))
    }

    pub async fn cli_round(
        &self,
        spec: &CatalogImage,
        image: &str,
        pinning: &Pinning,
    ) -> Result<CliRound> {
        let cpus = pinning.cpus;
        self.progress.note(image, &format!("run at {cpus} CPU"));
        let ran = start::run_cli(&self.docker, image, expected_output(spec), pinning).await?;
        Ok(CliRound {
            start_ms: ms(ran.elapsed),
            exit_code: ran.exit_code,
            first_line: ran.first_line,
        })
    }

    /// Start, idle memory, each path's load (the memory peak read after the
    /// image's own path), stop. The container is removed on every path.
    pub async fn server_round(
        &self,
        spec: &CatalogImage,
        image: &str,
        pinning: &Pinning,
    ) -> Result<ServerRound> {
        let paths = &spec.paths;
        // A TLS image is loaded over TLS only, on its own path: kept alive,
        // then a handshake per request. Its plain HTTP is who:rust's.
        let (tls, loads) = if spec.serves_tls() {
            let Some(tls) = &self.tls else {
                anyhow::bail!("{image} serves TLS, and there is no test certificate");
            };
            let own = &paths[0];
            (
                Some(tls),
                vec![(own, Transport::Tls), (own, Transport::TlsHandshakeEach)],
            )
        } else {
            (None, paths.iter().map(|p| (p, Transport::Http)).collect())
        };
        self.progress
            .note(image, &format!("start at {} CPU", pinning.cpus));
        let started = start::start_server(&self.docker, image, &paths[0], pinning, tls).await?;
        let wrk_cpus = pinning.wrk_cpus.as_deref();
        let measured = self.loaded(image, &started, &loads, wrk_cpus).await;
        self.progress.note(image, "stop");
        let stopped = stop::stop_timed(&self.docker, &started.id).await;
        let mut round = measured?;
        let (elapsed, exit_code) = stopped?;
        round.start_ms = ms(started.elapsed);
        round.stop_ms = Some(ms(elapsed));
        round.exit_code = exit_code;
        Ok(round)
    }

    async fn loaded(
        &self,
        image: &str,
        started: &start::Started,
        loads: &[(&String, Transport)],
        wrk_cpus: Option<&str>,
    ) -> Result<ServerRound> {
        let cgroup = cgroup::Cgroup::of(started.pid, &started.id)?;
        let mut round = ServerRound {
            idle: idle::settled(started.pid).await?,
            ..Default::default()
        };
        for (index, &(path, transport)) in loads.iter().enumerate() {
            let label = transport.label(path);
            self.progress.note(
                image,
                &format!(
                    "wrk {label} for {}",
                    humantime::format_duration(self.load.duration)
                ),
            );
            let sample = load::run_wrk(
                started.pid,
                Some(&cgroup),
                path,
                transport,
                &self.load,
                wrk_cpus,
            )
            .await?;
            round.loads.push((label, sample));
            if index == 0 {
                round.peak = procfs::status(started.pid)?;
            }
        }
        Ok(round)
    }
}

/// The figures read from an image's layers: reused with them.
const EXPORT_FIELDS: &[&str] = &[
    "compressed_size_bytes",
    "file_count",
    "elf_file_count",
    "binary_path",
    "binary_size_bytes",
    "has_shell",
];

/// What a command-line image must print for its run to count.
fn expected_output(spec: &CatalogImage) -> &'static str {
    match spec.program() {
        "hello" => "Hello world!",
        // simple_script.py's file and the Rust one's both start so.
        _ => "Hello from simple",
    }
}
