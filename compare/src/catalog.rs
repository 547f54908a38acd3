//! What each image is: the tag says it all. `PROGRAM:VARIANT` (optionally
//! behind a repository prefix, `compare-test/hello:rust`) names the program
//! and how it was built, the convention of `scripts/build-images.sh`.

/// The 14 images `make images` builds, in the order the report lists them.
pub const DEFAULT_IMAGES: &[&str] = &[
    "who:rust",
    "who:rust-naive",
    "who:go",
    "who:go-naive",
    "web:go",
    "web:go-naive",
    "hello:rust",
    "hello:rust-naive",
    "hello:go",
    "hello:go-naive",
    "simple-script:rust",
    "simple-script:rust-naive",
    "simple-script:python",
    "simple-script:python-naive",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Answers HTTP on 8080; `paths` are loaded in order, the first is the
    /// path the memory peak is read after.
    Server { paths: Vec<&'static str> },
    /// Runs and exits 0 printing a line that contains `expect`.
    Cli { expect: &'static str },
}

#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub tag: String,
    /// The last path component of `repo`: `who`, `hello`, ...
    pub program: String,
    pub variant: String,
    pub kind: Kind,
}

impl ImageSpec {
    pub fn parse(tag: &str) -> Result<Self, String> {
        let (repo, variant) = tag
            .rsplit_once(':')
            .filter(|(repo, variant)| !repo.is_empty() && !variant.is_empty())
            .ok_or_else(|| format!("{tag:?} is not PROGRAM:VARIANT (e.g. who:rust)"))?;
        let program = repo.rsplit('/').next().unwrap_or(repo).to_owned();
        let kind = kind_of(&program).ok_or_else(|| {
            format!("{tag:?}: unknown program {program:?} (known: who, web, hello, simple-script)")
        })?;
        Ok(Self {
            tag: tag.to_owned(),
            program,
            variant: variant.to_owned(),
            kind,
        })
    }

    pub fn is_naive(&self) -> bool {
        self.variant.ends_with("-naive")
    }

    /// `rust`, `go`, `python`: the variant without `-naive`.
    pub fn language(&self) -> &str {
        self.variant.trim_end_matches("-naive")
    }

    pub fn is_server(&self) -> bool {
        matches!(self.kind, Kind::Server { .. })
    }

    /// The source file a one-line change goes into for the warm rebuild,
    /// relative to the build context (the repository root).
    pub fn source_file(&self) -> Option<&'static str> {
        Some(match (self.program.as_str(), self.language()) {
            ("who", "rust") | ("web", "rust") => "who-server/src/main.rs",
            ("hello", "rust") => "hello/src/main.rs",
            ("simple-script", "rust") => "simple-script/src/main.rs",
            ("who", "go") => "originals/who/http.go",
            ("web", "go") => "originals/web/main.go",
            ("hello", "go") => "originals/hello/hello.go",
            ("simple-script", "python") => "originals/simple-script/simple_script.py",
            _ => return None,
        })
    }
}

/// Servers are loaded on the path their original answers: who:go serves
/// only `/who`, web:go only `/`. who:rust serves both, so it is loaded on
/// both to compare against each original on the same path.
fn kind_of(program: &str) -> Option<Kind> {
    Some(match program {
        "who" => Kind::Server {
            paths: vec!["/who", "/"],
        },
        "web" => Kind::Server { paths: vec!["/"] },
        "hello" => Kind::Cli {
            expect: "Hello world!",
        },
        // Both simple_script.py's file and the Rust one's start with this.
        "simple-script" => Kind::Cli {
            expect: "Hello from simple",
        },
        _ => return None,
    })
}

/// Which paths of `spec` to load: the original Go who server has no `/`.
pub fn load_paths(spec: &ImageSpec) -> Vec<&'static str> {
    match &spec.kind {
        Kind::Server { paths } if spec.program == "who" && spec.language() != "rust" => {
            paths[..1].to_vec()
        }
        Kind::Server { paths } => paths.clone(),
        Kind::Cli { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prefixed_tags() {
        let spec = ImageSpec::parse("compare-test/hello:rust-naive").unwrap();
        assert_eq!(spec.program, "hello");
        assert_eq!(spec.language(), "rust");
        assert!(spec.is_naive());
    }

    #[test]
    fn go_who_is_loaded_on_who_only() {
        let go = ImageSpec::parse("who:go").unwrap();
        let rust = ImageSpec::parse("who:rust").unwrap();
        assert_eq!(load_paths(&go), vec!["/who"]);
        assert_eq!(load_paths(&rust), vec!["/who", "/"]);
    }

    #[test]
    fn rejects_bad_tags() {
        assert!(ImageSpec::parse("who").is_err());
        assert!(ImageSpec::parse("nginx:latest").is_err());
    }
}
