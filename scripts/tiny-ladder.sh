#!/usr/bin/env bash
# How small can hello get? Builds it rung by rung, from cargo's default
# release build of the std `hello` down to `hello-tiny` as the image ships it
# (no std, no libc), all static musl binaries for x86_64; prints a Markdown
# table of each rung's bytes. The libc rungs are a throwaway crate written
# under the target directory: hello-tiny's program on musl's functions.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/tiny-ladder}"
static="-C target-feature=+crt-static"
# As docker/rust.Dockerfile builds hello-tiny: the flags of its one file.
tiny=$(<hello-tiny/rustflags)
libc_crate="$CARGO_TARGET_DIR/libc-hello"

# Step 3's program: hello-tiny's, but through musl's write, signal and _exit,
# started by musl's own _start and main.
mkdir -p "$libc_crate/src"
cat >"$libc_crate/Cargo.toml" <<'EOF'
[package]
name = "libc-hello"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

EOF
# The workspace's release profile, copied from its Cargo.toml.
awk '/^\[/ { section = $0 } section == "[profile.release]"' Cargo.toml >>"$libc_crate/Cargo.toml"
grep -q '^opt-level' "$libc_crate/Cargo.toml" || { echo "no [profile.release] in Cargo.toml" >&2; exit 1; }
cat >"$libc_crate/src/main.rs" <<'EOF'
#![no_std]
#![no_main]

#[link(name = "c")]
extern "C" {
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
    fn signal(signum: i32, handler: usize) -> usize;
    fn __errno_location() -> *mut i32;
    fn _exit(code: i32) -> !;
}

const SIGPIPE: i32 = 13;
const SIG_IGN: usize = 1;
const EINTR: i32 = 4;
const EPIPE: i32 = 32;

fn write_all(fd: i32, mut bytes: &[u8]) -> Result<(), i32> {
    while !bytes.is_empty() {
        let n = unsafe { write(fd, bytes.as_ptr(), bytes.len()) };
        if n > 0 {
            bytes = bytes.get(n as usize..).unwrap_or_default();
        } else if n == 0 {
            return Err(0);
        } else {
            let errno = unsafe { *__errno_location() };
            if errno != EINTR {
                return Err(errno);
            }
        }
    }
    Ok(())
}

#[no_mangle]
extern "C" fn main() -> i32 {
    unsafe { signal(SIGPIPE, SIG_IGN) };
    match write_all(1, b"Hello world!\n") {
        Ok(()) | Err(EPIPE) => unsafe { _exit(0) },
        Err(_) => {
            let _ = write_all(2, b"hello-tiny: cannot write to stdout\n");
            unsafe { _exit(1) }
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    unsafe { _exit(101) }
}
EOF

# build PACKAGE RUSTFLAGS [NAME=VALUE...]: builds one rung (PACKAGE "libc"
# is the crate above) with the workspace's release profile, or with what
# the NAME=VALUE overrides make of it; checks that it says hello; prints its
# size in bytes.
build() {
  local package=$1 rustflags=$2 binary
  shift 2
  if [[ $package == libc ]]; then
    env RUSTFLAGS="$rustflags" "$@" cargo build --quiet --release --target "$target" \
      --manifest-path "$libc_crate/Cargo.toml"
    binary=$CARGO_TARGET_DIR/$target/release/libc-hello
  else
    env RUSTFLAGS="$rustflags" "$@" cargo build --quiet --release --locked --target "$target" -p "$package"
    binary=$CARGO_TARGET_DIR/$target/release/$package
  fi
  [[ $("$binary") == "Hello world!" ]] || { echo "$binary does not say hello" >&2; exit 1; }
  stat -c %s "$binary"
}

previous=""
# row LABEL BUILD-ARGS...: one line of the table.
row() {
  local label=$1 bytes change=""
  shift
  bytes=$(build "$@")
  [[ -n "$previous" ]] && change=$(awk -v a="$previous" -v b="$bytes" 'BEGIN { printf "%+.1f%%", (b - a) * 100 / a }')
  echo "| $label | $bytes | $change |"
  previous=$bytes
}

echo "| step | binary bytes | change |"
echo "|---|---:|---:|"
row "\`hello\` (std, \`writeln!\`), cargo's default release profile" hello "$static" \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_STRIP=false
row "\`hello\`, the workspace's release profile (hello:rust)" hello "$static"
row "\`#![no_std]\` + \`#![no_main]\`, musl's \`write\`, \`signal\`, \`_exit\` through \`extern \"C\"\`, a \`#[panic_handler]\`" \
  libc "$static"
row "+ \`-C relocation-model=static\` (no PIE)" libc "$static -C relocation-model=static"
row "+ linker \`--build-id=none -z norelro -z noseparate-code\`" \
  libc "$static -C relocation-model=static -C link-arg=-Wl,--build-id=none,-z,norelro,-z,noseparate-code"
row "no libc (\`hello-tiny\`): own \`_start\`, raw \`write\`, \`rt_sigaction\`, \`exit_group\` system calls, linked \`-nostartfiles -nostdlib -static -n\`" \
  hello-tiny "$static -C link-self-contained=no -C relocation-model=static"
row "+ \`-C force-unwind-tables=no\` (hello:rust-tiny)" hello-tiny "$static $tiny"
echo
echo "Without \`-C relocation-model=static\`, hello:rust-tiny's binary is" \
  "$(build hello-tiny "$static ${tiny/-C relocation-model=static /}") bytes" \
  "(position-independent code, yet linked at a fixed address all the same: nothing would relocate it)."
