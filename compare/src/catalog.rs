//! The images, as docker/images.tsv lists them: the one list the Makefile,
//! the build script, the tests and this tool share. Each row says how the
//! image is built, what it runs, and what it is compared with.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// Where the list lives, relative to the repository root.
pub const CATALOG: &str = "docker/images.tsv";

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Answers HTTP on 8080; the first path is its own (memory peak read after it).
    Server { paths: Vec<String> },
    /// Runs, prints, exits 0.
    Cli,
}

/// One row of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSpec {
    /// `PROGRAM:VARIANT`, as the catalog names it.
    pub tag: String,
    pub dockerfile: String,
    pub stage: String,
    pub language: String,
    pub kind: Kind,
    /// Its single-stage twin, if it has one.
    pub naive: Option<String>,
    /// The originals it rewrites.
    pub baselines: Vec<String>,
    /// The file a warm rebuild changes by one line.
    pub source: String,
}

impl ImageSpec {
    /// `who`, `hello`, ...: the tag before the colon.
    pub fn program(&self) -> &str {
        self.tag
            .split_once(':')
            .map_or(&self.tag, |(program, _)| program)
    }

    /// `rust`, `go-naive`, ...: the tag after the colon.
    pub fn variant(&self) -> &str {
        self.tag.split_once(':').map_or("", |(_, variant)| variant)
    }

    pub fn is_naive(&self) -> bool {
        self.variant().ends_with("-naive")
    }

    pub fn is_server(&self) -> bool {
        matches!(self.kind, Kind::Server { .. })
    }

    pub fn paths(&self) -> &[String] {
        match &self.kind {
            Kind::Server { paths } => paths,
            Kind::Cli => &[],
        }
    }
}

/// Reads the catalog of the repository at `root`.
pub fn read(root: &Path) -> Result<Vec<ImageSpec>> {
    let path = root.join(CATALOG);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the image list {}", path.display()))?;
    parse(&text).with_context(|| format!("{}", path.display()))
}

pub fn parse(text: &str) -> Result<Vec<ImageSpec>> {
    let mut specs: Vec<ImageSpec> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let spec = row(line).with_context(|| format!("line {}", index + 1))?;
        if specs.iter().any(|s| s.tag == spec.tag) {
            bail!("line {}: {} is listed twice", index + 1, spec.tag);
        }
        specs.push(spec);
    }
    for spec in &specs {
        for other in spec.naive.iter().chain(&spec.baselines) {
            if !specs.iter().any(|s| &s.tag == other) {
                bail!("{} names {other}, which is not in the list", spec.tag);
            }
        }
    }
    Ok(specs)
}

fn row(line: &str) -> Result<ImageSpec> {
    let columns: Vec<&str> = line.split_whitespace().collect();
    let [tag, dockerfile, stage, language, kind, paths, naive, baselines, source] = columns[..]
    else {
        bail!("expected 9 columns, found {}: {line}", columns.len());
    };
    if !tag.contains(':') {
        bail!("{tag} is not PROGRAM:VARIANT");
    }
    let list = |text: &str| -> Vec<String> {
        match text {
            "-" => Vec::new(),
            _ => text.split(',').map(str::to_owned).collect(),
        }
    };
    let kind = match (kind, list(paths)) {
        ("server", paths) if !paths.is_empty() => Kind::Server { paths },
        ("cli", paths) if paths.is_empty() => Kind::Cli,
        _ => bail!("{tag}: kind is server (with paths) or cli (paths -), not {kind} {paths}"),
    };
    Ok(ImageSpec {
        tag: tag.to_owned(),
        dockerfile: dockerfile.to_owned(),
        stage: stage.to_owned(),
        language: language.to_owned(),
        kind,
        naive: list(naive).into_iter().next(),
        baselines: list(baselines),
        source: source.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_repository_catalog() {
        let specs = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap();
        let who = specs.iter().find(|s| s.tag == "who:rust").unwrap();
        assert_eq!(who.paths(), ["/who", "/"]);
        assert_eq!(who.naive.as_deref(), Some("who:rust-naive"));
        assert_eq!(who.baselines, ["who:go", "web:go"]);
        assert_eq!((who.program(), who.variant()), ("who", "rust"));
        let naive = specs.iter().find(|s| s.tag == "hello:go-naive").unwrap();
        assert!(naive.is_naive() && !naive.is_server());
    }

    #[test]
    fn rejects_rows_that_do_not_add_up() {
        for text in [
            "who:rust rust.Dockerfile who rust server - - - main.rs",
            "hello:rust rust.Dockerfile hello rust cli - hello:missing - main.rs",
            "hello rust.Dockerfile hello rust cli - - - main.rs",
            "hello:rust rust.Dockerfile hello rust cli - - -",
            "a:b x s rust cli - - - m.rs\na:b x s rust cli - - - m.rs",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
