//! The image's final filesystem, rebuilt from its layers' file lists the way
//! overlayfs stacks them: later layers win, `.wh.NAME` deletes NAME below,
//! `.wh..wh..opq` empties a directory below. Answers what is in the image.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Node {
    Dir,
    File {
        size: u64,
        elf: bool,
    },
    Symlink(String),
    /// A tar hard link: the target's path, relative to the root.
    Hardlink(String),
    Other,
}

/// One entry of a layer tar, path relative to `/` without a leading `./`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub node: Node,
}

#[derive(Debug, Default)]
pub struct Filesystem {
    nodes: BTreeMap<String, Node>,
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
/// Symlink hops before giving up, as Linux's ELOOP.
const MAX_HOPS: usize = 40;

impl Filesystem {
    /// Puts a layer on top. Whiteouts only hide what lies below, so they go first.
    pub fn apply(&mut self, layer: &[Entry]) {
        for entry in layer {
            let (dir, name) = split(&entry.path);
            if name == OPAQUE {
                self.remove_under(dir);
            } else if let Some(hidden) = name.strip_prefix(WHITEOUT) {
                let path = join(dir, hidden);
                self.remove_under(&path);
                self.nodes.remove(&path);
            }
        }
        for entry in layer {
            if !split(&entry.path).1.starts_with(WHITEOUT) && !entry.path.is_empty() {
                self.nodes.insert(entry.path.clone(), entry.node.clone());
            }
        }
    }

    fn remove_under(&mut self, dir: &str) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.nodes.retain(|path, _| !path.starts_with(&prefix));
    }

    /// Everything that is not a directory.
    pub fn file_count(&self) -> usize {
        self.nodes.values().filter(|n| **n != Node::Dir).count()
    }

    pub fn elf_count(&self) -> usize {
        self.nodes
            .values()
            .filter(|n| matches!(n, Node::File { elf: true, .. }))
            .count()
    }

    /// Follows symlinks (also in the middle of the path: `/bin` → `usr/bin`)
    /// and hard links to the path of a regular file or directory.
    pub fn resolve(&self, path: &str) -> Option<(String, &Node)> {
        let mut pending: Vec<String> = components(path).rev().map(str::to_owned).collect();
        let mut current = String::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    current = split(&current).0.to_owned();
                    continue;
                }
                _ => {}
            }
            let candidate = join(&current, &part);
            match self.nodes.get(&candidate)? {
                Node::Symlink(target) | Node::Hardlink(target) => {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return None;
                    }
                    // A hard link's target is from the root; so is an absolute symlink.
                    let hard = matches!(self.nodes.get(&candidate), Some(Node::Hardlink(_)));
                    if hard || target.starts_with('/') {
                        current.clear();
                    }
                    pending.extend(components(target).rev().map(str::to_owned));
                }
                _ => current = candidate,
            }
        }
        let node = self.nodes.get(&current)?;
        Some((format!("/{current}"), node))
    }

    /// The program `command` runs, as the kernel would find it: an absolute
    /// path, else the first match on `path_var` (the image's PATH).
    pub fn find_program(&self, command: &str, path_var: &str) -> Option<(String, u64)> {
        let candidates: Vec<String> = if command.contains('/') {
            vec![command.to_owned()]
        } else {
            path_var
                .split(':')
                .map(|dir| format!("{}/{command}", dir.trim_end_matches('/')))
                .collect()
        };
        // The path as the image names it (cargo's target/release/x is a hard
        // link into deps/x-HASH: the name people know is the first one).
        candidates.into_iter().find_map(|c| match self.resolve(&c) {
            Some((_, Node::File { size, .. })) => Some((format!("/{}", normalize(&c)), *size)),
            _ => None,
        })
    }
}

fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|part| !part.is_empty())
}

fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// `./usr/bin/` → `usr/bin`: the form every path takes here.
pub fn normalize(path: &str) -> String {
    components(path)
        .filter(|part| *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64) -> Entry {
        Entry {
            path: path.into(),
            node: Node::File { size, elf: true },
        }
    }

    fn node(path: &str, node: Node) -> Entry {
        Entry {
            path: path.into(),
            node,
        }
    }

    #[test]
    fn stacks_layers_with_whiteouts() {
        let mut fs = Filesystem::default();
        fs.apply(&[
            node("usr", Node::Dir),
            node("usr/bin", Node::Dir),
            file("usr/bin/dash", 120_000),
            node("usr/bin/sh", Node::Symlink("dash".into())),
            node("bin", Node::Symlink("usr/bin".into())),
            node("etc", Node::Dir),
            file("etc/a", 1),
            file("etc/b", 1),
            node("opt", Node::Dir),
            file("opt/x", 1),
        ]);
        assert_eq!(fs.file_count(), 6);
        let (path, _) = fs.resolve("/bin/sh").unwrap();
        assert_eq!(path, "/usr/bin/dash");

        fs.apply(&[
            node("etc/.wh.a", Node::Other),
            node("opt/.wh..wh..opq", Node::Other),
            file("opt/y", 1),
            node("app", Node::Hardlink("usr/bin/dash".into())),
        ]);
        assert!(fs.resolve("/etc/a").is_none());
        assert!(fs.resolve("/etc/b").is_some());
        assert!(fs.resolve("/opt/x").is_none());
        assert!(fs.resolve("/opt/y").is_some());
        assert_eq!(
            fs.find_program("sh", "/usr/local/bin:/bin"),
            Some(("/bin/sh".into(), 120_000))
        );
        assert_eq!(fs.find_program("/app", ""), Some(("/app".into(), 120_000)));
        assert_eq!(fs.file_count(), 6);
    }

    #[test]
    fn symlink_loops_end() {
        let mut fs = Filesystem::default();
        fs.apply(&[
            node("a", Node::Symlink("b".into())),
            node("b", Node::Symlink("a".into())),
        ]);
        assert!(fs.resolve("a").is_none());
    }

    #[test]
    fn normalizes_tar_paths() {
        assert_eq!(normalize("./usr/bin/"), "usr/bin");
        assert_eq!(normalize("/app"), "app");
    }
}
