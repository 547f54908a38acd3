//! `hello`, as small as Rust gets on stable: prints `Hello world!` with no
//! std and no libc. The kernel starts it at `_start`; it talks to the kernel
//! through raw system calls (`core::arch::asm!`) and ends with `exit_group`.
//!
//! It handles what the std `hello` handles: a closed stdout exits 0 quietly,
//! a failed or short write exits 1 with one line on stderr, `EINTR` is
//! retried and a partial write is continued.

#![no_std]
#![no_main]

use core::arch::{asm, naked_asm};

const HELLO: &[u8] = b"Hello world!\n";
const CANNOT_WRITE: &[u8] = b"hello-tiny: cannot write to stdout\n";

const STDOUT: usize = 1;
const STDERR: usize = 2;
const SIGPIPE: usize = 13;
const SIG_IGN: usize = 1;
const EINTR: isize = 4;
const EPIPE: isize = 32;
/// The kernel's signal set: 64 signals, 8 bytes (rt_sigaction checks it).
const SIGSET_BYTES: usize = 8;

/// The kernel's system call numbers (they differ per architecture).
#[cfg(target_arch = "x86_64")]
mod nr {
    pub const WRITE: usize = 1;
    pub const RT_SIGACTION: usize = 13;
    pub const EXIT_GROUP: usize = 231;
}
#[cfg(target_arch = "aarch64")]
mod nr {
    pub const WRITE: usize = 64;
    pub const RT_SIGACTION: usize = 134;
    pub const EXIT_GROUP: usize = 94;
}

/// A system call; returns the kernel's answer, a negative errno on failure.
/// (The unused fourth argument costs one instruction where it is zero.)
///
/// # Safety
/// The arguments must be valid for the call `n`.
#[inline(always)]
unsafe fn syscall(n: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let ret: isize;
    #[cfg(target_arch = "x86_64")]
    asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a, in("rsi") b, in("rdx") c,
         in("r10") d, lateout("rcx") _, lateout("r11") _, options(nostack));
    #[cfg(target_arch = "aarch64")]
    asm!("svc 0", in("x8") n, inlateout("x0") a as isize => ret, in("x1") b, in("x2") c,
         in("x3") d, options(nostack));
    ret
}

/// The kernel's `struct sigaction` (the same layout on x86_64 and arm64):
/// handler, flags, restorer, mask.
static IGNORE: [usize; 4] = [SIG_IGN, 0, 0, 0];

/// Ignores SIGPIPE, as std does before `main`: a write to a closed pipe then
/// fails with `EPIPE` instead of killing the process.
fn ignore_sigpipe() {
    // SAFETY: IGNORE is a valid kernel sigaction; no old action is asked for.
    unsafe {
        syscall(
            nr::RT_SIGACTION,
            SIGPIPE,
            IGNORE.as_ptr() as usize,
            0,
            SIGSET_BYTES,
        )
    };
}

/// `write(2)` until all of `bytes` is written; a partial write is continued,
/// `EINTR` retried. Returns the failing errno, negative; a write of 0 bytes
/// counts as a failure (`-1`), as std's `WriteZero` does.
fn write_all(fd: usize, mut bytes: &[u8]) -> Result<(), isize> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid buffer of `bytes.len()` bytes.
        let ret = unsafe { syscall(nr::WRITE, fd, bytes.as_ptr() as usize, bytes.len(), 0) };
        match ret {
            ret if ret == -EINTR => {}
            ret if ret > 0 => bytes = bytes.get(ret as usize..).unwrap_or_default(),
            0 => return Err(-1),
            errno => return Err(errno),
        }
    }
    Ok(())
}

/// Ends the process (all its threads: there is one) with `code`.
fn exit(code: usize) -> ! {
    loop {
        // SAFETY: exit_group takes one integer and does not return.
        unsafe { syscall(nr::EXIT_GROUP, code, 0, 0, 0) };
    }
}

/// The program, called by `_start` (hence the C calling convention).
extern "C" fn hello() -> ! {
    ignore_sigpipe();
    match write_all(STDOUT, HELLO) {
        // A reader that went away is not an error worth reporting.
        Ok(()) => exit(0),
        Err(errno) if errno == -EPIPE => exit(0),
        Err(_) => {
            // Nothing more to do if stderr fails too: the exit code says it.
            let _ = write_all(STDERR, CANNOT_WRITE);
            exit(1)
        }
    }
}

/// The entry point: the kernel jumps here with the stack pointer 16-byte
/// aligned (no return address), where a Rust function expects a call's
/// alignment; so `_start` is a few instructions that make the call.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    naked_asm!("xor ebp, ebp", "call {hello}", hello = sym hello)
}

#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    naked_asm!("mov x29, xzr", "mov x30, xzr", "bl {hello}", hello = sym hello)
}

/// Nothing here panics (the only slice index is checked by `get`), but
/// no_std requires a handler: it reports like a failed write.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    let _ = write_all(STDERR, b"hello-tiny: panicked\n");
    exit(101)
}
