//! What measuring the images needs, for `compare` (a tool that ships) and
//! the tests alike: the image catalog (docker/images.tsv), wrk's numbers,
//! a process's memory from /proc, a copy of the tree a build would see, and
//! HTTPS with a certificate made at run time (who:rust-tls).
//! Test-only helpers live in `testkit`, which re-exports these.

pub mod catalog;
pub mod procfs;
pub mod tls;
pub mod tree;
pub mod wrk;
