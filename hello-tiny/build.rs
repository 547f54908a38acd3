//! Link flags for the one binary that brings its own `_start` and needs no
//! libc; `cargo:rustc-link-arg-bin` keeps them off every other target.
//! `scripts/tiny-ladder.sh` measures what each one buys.
use std::env;

fn main() {
    for arg in [
        // No C start files (crt1.o and co: our `_start` is the entry), no
        // libc, no dynamic loader.
        "-nostartfiles",
        "-nostdlib",
        "-static",
        // -n: sections not padded to pages; no build-id note; no RELRO
        // segment (there is nothing to relocate, so nothing to protect).
        "-Wl,-n,--build-id=none,-z,norelro",
    ] {
        println!("cargo:rustc-link-arg-bin=hello-tiny={arg}");
    }
    // For musl targets rustc links its own copy of musl's start files, whose
    // `_start` collides with ours; only a rustc flag turns that off.
    let musl = env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|e| e == "musl");
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if musl && !flags.contains("link-self-contained=no") {
        println!(
            "cargo:warning=hello-tiny links for musl only with RUSTFLAGS=\"-C link-self-contained=no\" \
             (see TINY_RUSTFLAGS in docker/rust.Dockerfile)"
        );
    }
}
