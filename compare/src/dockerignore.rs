//! `.dockerignore` as the docker CLI reads it: one pattern a line, `#`
//! comments, `!` re-includes, `*` stops at `/`, `**` crosses it, and a
//! pattern that matches a directory excludes all that is under it.

use std::path::Path;

use anyhow::{Context, Result};
use globset::{GlobBuilder, GlobMatcher};

#[derive(Debug, Default)]
pub struct DockerIgnore {
    /// In file order; the last rule that matches decides.
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    glob: GlobMatcher,
    reinclude: bool,
}

impl DockerIgnore {
    /// No `.dockerignore` means nothing is ignored, as for the CLI.
    pub fn load(root: &Path) -> Result<Self> {
        match std::fs::read_to_string(root.join(".dockerignore")) {
            Ok(text) => Self::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).context("cannot read .dockerignore"),
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        let mut rules = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (reinclude, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pattern = clean(pattern);
            if pattern.is_empty() {
                continue;
            }
            let glob = GlobBuilder::new(&pattern)
                .literal_separator(true)
                .build()
                .with_context(|| format!(".dockerignore: bad pattern {line:?}"))?
                .compile_matcher();
            rules.push(Rule { glob, reinclude });
        }
        Ok(Self { rules })
    }

    /// Whether any rule re-includes: then an ignored directory must still be walked.
    pub fn has_reincludes(&self) -> bool {
        self.rules.iter().any(|rule| rule.reinclude)
    }

    /// `rel` is a `/`-separated path relative to the context root.
    pub fn is_ignored(&self, rel: &str) -> bool {
        let mut ignored = false;
        for rule in &self.rules {
            // A rule can only flip the current state.
            if rule.reinclude != ignored {
                continue;
            }
            if self_or_parents(rel).any(|p| rule.glob.is_match(p)) {
                ignored = !rule.reinclude;
            }
        }
        ignored
    }
}

/// `./a//b/` → `a/b`, and a leading `/` means the context root.
fn clean(pattern: &str) -> String {
    pattern
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// `a/b/c`, `a/b`, `a`.
fn self_or_parents(rel: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(rel), |p| p.rsplit_once('/').map(|(parent, _)| parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_the_docker_cli() {
        let ignore = DockerIgnore::parse(
            "# comment\n.git\n/target\nresults\n**/*.tmp\ndocs/*.md\n!docs/keep.md\n",
        )
        .unwrap();
        assert!(ignore.is_ignored(".git"));
        assert!(ignore.is_ignored("target/release/who-server"));
        assert!(ignore.is_ignored("results/x.tmp"));
        assert!(ignore.is_ignored("a/b/c.tmp"));
        assert!(ignore.is_ignored("docs/a.md"));
        assert!(!ignore.is_ignored("docs/keep.md"));
        assert!(!ignore.is_ignored("docs/sub/a.md"), "* does not cross /");
        assert!(!ignore.is_ignored("who-server/src/main.rs"));
        assert!(!ignore.is_ignored("my-target"));
        assert!(ignore.has_reincludes());
    }
}
