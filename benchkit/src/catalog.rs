//! docker/images.tsv, the one list of every image the project builds: one
//! row per image, columns separated by spaces or tabs, `#` comments. The
//! image tests (through testkit::catalog) and compare read it through here.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What an image does when run; `server` or `cli` in the catalog and in
/// compare's record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Answers HTTP on 8080.
    Server,
    /// Runs, prints and exits (the default only of records built field by
    /// field, before the catalog's row fills them in).
    #[default]
    Cli,
}

/// One row of the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogImage {
    /// `PROGRAM:VARIANT`, as built and run.
    pub tag: String,
    /// The Dockerfile, under docker/.
    pub dockerfile: String,
    /// The Dockerfile's stage (`--target`), or its `APP` build arg.
    pub stage: String,
    /// rust, go or python.
    pub language: String,
    pub kind: Kind,
    /// A server's load paths, its own first; empty for a command-line image.
    pub paths: Vec<String>,
    /// Its single-stage twin, if it has one.
    pub naive: Option<String>,
    /// The originals it rewrites, compared path by path.
    pub baselines: Vec<String>,
    /// The file a warm rebuild changes by one line.
    pub source: String,
    /// The most bytes the image may take (`docker image inspect .Size`),
    /// if it has a budget: the image tests hold it, compare judges it.
    pub budget_bytes: Option<u64>,
}

impl CatalogImage {
    /// The PROGRAM of `PROGRAM:VARIANT`.
    pub fn program(&self) -> &str {
        self.tag.split(':').next().unwrap_or(&self.tag)
    }

    /// The VARIANT of `PROGRAM:VARIANT`.
    pub fn variant(&self) -> &str {
        self.tag.split_once(':').map_or("", |(_, variant)| variant)
    }

    pub fn is_naive(&self) -> bool {
        self.variant().ends_with("-naive")
    }

    pub fn is_server(&self) -> bool {
        self.kind == Kind::Server
    }

    /// The platform the image is built for: `linux/arm64` for the variants
    /// ending in `-arm64` (`who:rust-arm64`), else `linux/amd64`; as
    /// scripts/lib.sh's `platform_of` reads the same tags.
    pub fn platform(&self) -> &'static str {
        if self.variant().ends_with("-arm64") {
            "linux/arm64"
        } else {
            "linux/amd64"
        }
    }

    /// Whether the image serves HTTPS (and HTTP/2) when given a certificate
    /// by `WHO_CERT` and `WHO_KEY`, plain HTTP otherwise: the variants
    /// ending in `-tls`, and their `-arm64` twins (`who:rust-tls-arm64`).
    pub fn serves_tls(&self) -> bool {
        self.variant().trim_end_matches("-arm64").ends_with("-tls")
    }

    /// Whether this machine runs the image without emulation.
    pub fn is_native(&self) -> bool {
        Some(self.platform()) == host_platform()
    }
}

/// This machine's platform as Docker names it, when it is one the catalog
/// builds for.
pub fn host_platform() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Some("linux/amd64"),
        "aarch64" => Some("linux/arm64"),
        _ => None,
    }
}

/// Where the catalog is, relative to the repository root.
pub const CATALOG: &str = "docker/images.tsv";

/// The catalog of the repository at `root`.
pub fn read(root: &Path) -> Result<Vec<CatalogImage>, String> {
    let path = root.join(CATALOG);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The rows of a catalog's text, checked: 10 columns, known kinds, paths
/// exactly for servers, budgets in bytes, no tag twice, twins and baselines that are rows.
pub fn parse(text: &str) -> Result<Vec<CatalogImage>, String> {
    let mut images: Vec<CatalogImage> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let image = row(line).map_err(|e| format!("line {}: {e}", number + 1))?;
        if images.iter().any(|i| i.tag == image.tag) {
            return Err(format!(
                "line {}: {} is listed twice",
                number + 1,
                image.tag
            ));
        }
        images.push(image);
    }
    for image in &images {
        for other in image.naive.iter().chain(&image.baselines) {
            if !images.iter().any(|i| &i.tag == other) {
                return Err(format!("{} names {other}, which is not a row", image.tag));
            }
        }
    }
    Ok(images)
}

fn row(line: &str) -> Result<CatalogImage, String> {
    let list = |field: &str| -> Vec<String> {
        match field {
            "-" => Vec::new(),
            _ => field.split(',').map(str::to_owned).collect(),
        }
    };
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [tag, dockerfile, stage, language, kind, paths, naive, baselines, source, budget] =
        fields[..]
    else {
        return Err(format!(
            "10 columns expected, found {}: {line:?}",
            fields.len()
        ));
    };
    if !tag.contains(':') {
        return Err(format!("{tag} is not PROGRAM:VARIANT"));
    }
    let kind = match (kind, paths) {
        ("server", paths) if paths != "-" => Kind::Server,
        ("cli", "-") => Kind::Cli,
        _ => {
            return Err(format!(
                "{tag}: kind is server with paths, or cli with -, not {kind} {paths}"
            ))
        }
    };
    let budget_bytes =
        match budget {
            "-" => None,
            bytes => Some(bytes.parse().map_err(|_| {
                format!("{tag}: the budget is a number of bytes or -, not {budget}")
            })?),
        };
    Ok(CatalogImage {
        tag: tag.to_owned(),
        dockerfile: dockerfile.to_owned(),
        stage: stage.to_owned(),
        language: language.to_owned(),
        kind,
        paths: list(paths),
        naive: list(naive).into_iter().next(),
        baselines: list(baselines),
        source: source.to_owned(),
        budget_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_skips_comments() {
        let text = "# tag dockerfile ...\n\n\
            who:rust  rust.Dockerfile  who  rust  server  /who,/  who:rust-naive  who:go  a.rs  1100000\n\
            who:rust-naive rust-naive.Dockerfile who rust server /who,/ - - a.rs -\n\
            who:go\tgo.Dockerfile\twho\tgo\tserver\t/who\t-\t-\tb.go\t-\n";
        let images = parse(text).unwrap();
        assert_eq!(images.len(), 3);
        assert_eq!((images[0].program(), images[0].variant()), ("who", "rust"));
        assert!(images[0].is_server() && !images[0].is_naive() && images[1].is_naive());
        assert_eq!(images[0].paths, ["/who", "/"]);
        assert_eq!(images[0].naive.as_deref(), Some("who:rust-naive"));
        assert_eq!(images[0].baselines, ["who:go"]);
        assert_eq!(images[2].source, "b.go");
        assert_eq!(images[0].budget_bytes, Some(1_100_000));
        assert_eq!(images[1].budget_bytes, None);
        assert_eq!(images[0].platform(), "linux/amd64");
    }

    #[test]
    fn the_arm64_variants_are_arm64_images() {
        let text = "who:rust-arm64 rust.Dockerfile who rust server /who - - a.rs -\n\
            hello:go-arm64 go.Dockerfile hello go cli - - - b.go -\n";
        for image in parse(text).unwrap() {
            assert_eq!(image.platform(), "linux/arm64", "{}", image.tag);
        }
    }

    #[test]
    fn the_tls_variants_and_their_twins_serve_tls() {
        let text = "who:rust-tls rust.Dockerfile who-tls rust server /who - - a.rs -\n\
            who:rust-tls-arm64 rust.Dockerfile who-tls rust server /who - - a.rs -\n\
            who:rust rust.Dockerfile who rust server /who - - a.rs -\n\
            tls:rust rust.Dockerfile who rust server /who - - a.rs -\n";
        let serve: Vec<bool> = parse(text)
            .unwrap()
            .iter()
            .map(|i| i.serves_tls())
            .collect();
        assert_eq!(serve, [true, true, false, false]);
    }

    #[test]
    fn rejects_rows_that_do_not_add_up() {
        for text in [
            "who:rust rust.Dockerfile who rust server - - - main.rs -",
            "hello:rust rust.Dockerfile hello rust cli /x - - main.rs -",
            "hello:rust rust.Dockerfile hello rust daemon - - - main.rs -",
            "hello:rust rust.Dockerfile hello rust cli - hello:missing - main.rs -",
            "hello rust.Dockerfile hello rust cli - - - main.rs -",
            "hello:rust rust.Dockerfile hello rust cli - - - main.rs",
            "hello:rust rust.Dockerfile hello rust cli - - - main.rs 1kB",
            "a:b x s rust cli - - - m.rs -\na:b x s rust cli - - - m.rs -",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
