//! Link flags for the one binary that brings its own `_start` and needs no
//! libc; `cargo:rustc-link-arg-bin` keeps them off every other target.
//! `scripts/tiny-ladder.sh` measures what each one buys.
//!
//! Two linker flavours: gcc (the default, a C compiler that calls ld) and
//! lld called directly (`rust-lld`, how docker/rust.Dockerfile links
//! aarch64: no cross gcc on Alpine), which takes ld's flags, not gcc's.
use std::env;

/// gcc's flags: no C start files (crt1.o and co: our `_start` is the entry),
/// no libc, no dynamic loader; then, for ld, -n: sections not padded to
/// pages; no build-id note; no RELRO segment (there is nothing to relocate,
/// so nothing to protect).
const GCC: &[&str] = &[
    "-nostartfiles",
    "-nostdlib",
    "-static",
    "-Wl,-n,--build-id=none,-z,norelro",
];

/// The same for ld.lld itself (rustc adds no start files when it calls lld
/// with `-C link-self-contained=no`), and one more: lld puts read-only data
/// in a segment of its own unless told not to, a program header more.
const LLD: &[&str] = &[
    "-nostdlib",
    "-static",
    "-n",
    "--build-id=none",
    "-znorelro",
    "--no-rosegment",
];

fn main() {
    // Rerun when the linker changes: RUSTFLAGS are watched by cargo, the
    // environment variable only when asked (a config file's is not).
    let target = env::var("TARGET").unwrap_or_default();
    let linker_variable = format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_uppercase().replace(['-', '.'], "_")
    );
    println!("cargo:rerun-if-env-changed={linker_variable}");
    println!("cargo:rerun-if-changed=build.rs");
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    for arg in if links_with_lld(&flags) { LLD } else { GCC } {
        println!("cargo:rustc-link-arg-bin=hello-tiny={arg}");
    }
    // For musl targets rustc links its own copy of musl's start files, whose
    // `_start` collides with ours; only a rustc flag turns that off.
    let musl = env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|e| e == "musl");
    if musl && !flags.contains("link-self-contained=no") {
        println!(
            "cargo:warning=hello-tiny links for musl only with RUSTFLAGS=\"-C link-self-contained=no\" \
             (all of hello-tiny/rustflags, as docker/rust.Dockerfile gives them)"
        );
    }
}

/// Whether the linker is lld itself (`rust-lld`, `ld.lld`): the last
/// `-C linker=` in RUSTFLAGS, else the target's linker as cargo resolved it
/// (`CARGO_TARGET_<TRIPLE>_LINKER`, `target.<triple>.linker`).
fn links_with_lld(encoded_rustflags: &str) -> bool {
    let mut linker = env::var("RUSTC_LINKER").ok();
    let mut flags = encoded_rustflags.split('\x1f');
    while let Some(flag) = flags.next() {
        let codegen = match flag {
            "-C" => flags.next().unwrap_or_default(),
            _ => flag.strip_prefix("-C").unwrap_or_default(),
        };
        if let Some(path) = codegen.strip_prefix("linker=") {
            linker = Some(path.to_owned());
        }
    }
    linker.is_some_and(|path| {
        let name = path.rsplit('/').next().unwrap_or_default();
        name.ends_with("lld")
    })
}
