//! docker/images.tsv, the one list of every image the project builds: one
//! row per image, columns separated by spaces or tabs, `#` comments.

/// What an image does when run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Answers HTTP on 8080.
    Server,
    /// Runs, prints and exits.
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
}

impl CatalogImage {
    /// The PROGRAM of `PROGRAM:VARIANT`.
    pub fn program(&self) -> &str {
        self.tag.split(':').next().unwrap_or(&self.tag)
    }
}

/// Where the catalog is: docker/images.tsv in the workspace.
pub fn path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker/images.tsv")
}

/// Every image of docker/images.tsv, in its order; panics on a malformed row.
pub fn images() -> Vec<CatalogImage> {
    let path = path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse(&text)
}

/// The catalog image tagged `tag`; panics when there is none.
pub fn image(tag: &str) -> CatalogImage {
    images()
        .into_iter()
        .find(|image| image.tag == tag)
        .unwrap_or_else(|| panic!("{tag} is not in docker/images.tsv"))
}

/// The rows of a catalog's text.
pub fn parse(text: &str) -> Vec<CatalogImage> {
    let list = |field: &str| -> Vec<String> {
        if field == "-" {
            Vec::new()
        } else {
            field.split(',').map(str::to_owned).collect()
        }
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .map(|(number, line)| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [tag, dockerfile, stage, language, kind, paths, naive, baselines] = fields[..]
            else {
                panic!(
                    "docker/images.tsv line {}: 8 columns expected, found {}: {line:?}",
                    number + 1,
                    fields.len()
                );
            };
            let kind = match kind {
                "server" => Kind::Server,
                "cli" => Kind::Cli,
                other => panic!(
                    "docker/images.tsv line {}: kind {other:?} is neither server nor cli",
                    number + 1
                ),
            };
            CatalogImage {
                tag: tag.to_owned(),
                dockerfile: dockerfile.to_owned(),
                stage: stage.to_owned(),
                language: language.to_owned(),
                kind,
                paths: list(paths),
                naive: (naive != "-").then(|| naive.to_owned()),
                baselines: list(baselines),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_skips_comments() {
        let text = "# tag dockerfile ...\n\n\
            who:rust  rust.Dockerfile  who  rust  server  /who,/  who:rust-naive  who:go,web:go\n\
            hello:go\tgo.Dockerfile\thello\tgo\tcli\t-\t-\t-\n";
        let images = parse(text);
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].program(), "who");
        assert_eq!(images[0].kind, Kind::Server);
        assert_eq!(images[0].paths, ["/who", "/"]);
        assert_eq!(images[0].naive.as_deref(), Some("who:rust-naive"));
        assert_eq!(images[0].baselines, ["who:go", "web:go"]);
        assert_eq!(images[1].kind, Kind::Cli);
        assert!(images[1].paths.is_empty() && images[1].naive.is_none());
    }

    #[test]
    fn the_committed_catalog_is_consistent() {
        let images = images();
        let tags: Vec<&str> = images.iter().map(|image| image.tag.as_str()).collect();
        for image in &images {
            assert!(
                path().with_file_name(&image.dockerfile).is_file(),
                "{}: no docker/{}",
                image.tag,
                image.dockerfile
            );
            for twin in image.naive.iter().chain(&image.baselines) {
                assert!(
                    tags.contains(&twin.as_str()),
                    "{}: {twin} is not a row",
                    image.tag
                );
            }
            assert_eq!(
                image.kind == Kind::Server,
                !image.paths.is_empty(),
                "{}: a server has load paths, a command-line image none",
                image.tag
            );
        }
    }
}
