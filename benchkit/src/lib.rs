//! What measuring the images needs, for `compare` (a tool that ships) and
//! the tests alike: the image catalog (docker/images.tsv), wrk's numbers,
//! a process's memory from /proc, and a copy of the tree a build would see.
//! Test-only helpers live in `testkit`, which re-exports these.

pub mod catalog;
pub mod procfs;
pub mod tree;
pub mod wrk;
