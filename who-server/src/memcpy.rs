//! `memcpy` and `memmove` for the static musl build on x86_64: one
//! `rep movsb` each (issue 19; README, "Build choices, measured").
//!
//! Why: musl's x86_64 `memcpy` copies with `rep movsq` and finishes with a
//! loop of single `movsb`s, and both start slowly on short copies; glibc
//! picks vector moves by size. hyper's request path makes 17 copies per
//! `/who` request, most of a few dozen bytes, so the static image spent
//! more user time per request than its glibc twin with the same
//! instructions counted. CPUs with fast short `rep movsb` (FSRM: Intel
//! since Ice Lake, AMD since Zen 3) copy any length well this way; on older
//! ones `rep movsb` starts as slowly as musl's `rep movsq` and loses
//! nothing against it. It is also smaller than musl's two functions.
//!
//! Defining both symbols here keeps musl's `memcpy.o` out of the link:
//! musl's `memmove` jumps into it (`__memcpy_fwd`), so replacing `memcpy`
//! alone would define it twice. Elsewhere (glibc, aarch64's musl, whose
//! copies are fast) they are plain functions, for the tests below.

/// Copies `n` bytes forward from `src` to `dest`, which must not overlap
/// (C's `memcpy`); returns `dest`.
///
/// # Safety
/// `src` must be readable and `dest` writable for `n` bytes.
#[cfg_attr(all(target_env = "musl", not(test)), no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's promise; the direction flag is clear, as the
    // ABI guarantees on entry, so the copy goes forward.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dest => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
    dest
}

/// Copies `n` bytes from `src` to `dest`, which may overlap (C's
/// `memmove`); returns `dest`.
///
/// # Safety
/// `src` must be readable and `dest` writable for `n` bytes.
#[cfg_attr(all(target_env = "musl", not(test)), no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // A forward copy is right unless `dest` starts inside the source; the
    // unsigned difference is ≥ n whenever `dest` is before `src` too.
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // SAFETY: the caller's promise, and no byte is written before it is read.
        return unsafe { memcpy(dest, src, n) };
    }
    // SAFETY: the caller's promise. Copying backward from the last byte
    // reads each overlapping byte before it is overwritten; the direction
    // flag is cleared again before the block ends, as Rust's asm requires.
    unsafe {
        core::arch::asm!(
            "std",
            "rep movsb",
            "cld",
            inout("rcx") n => _,
            inout("rdi") dest.wrapping_add(n).wrapping_sub(1) => _,
            inout("rsi") src.wrapping_add(n).wrapping_sub(1) => _,
            options(nostack)
        );
    }
    dest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that differ from their neighbours, so a misplaced one shows.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn memcpy_copies_every_length_and_returns_dest() {
        for len in 0..300 {
            let src = pattern(len);
            let mut dest = vec![0u8; len + 2];
            // SAFETY: both buffers hold at least `len` bytes.
            let returned = unsafe { memcpy(dest[1..].as_mut_ptr(), src.as_ptr(), len) };
            assert_eq!(returned, dest[1..].as_mut_ptr());
            assert_eq!(&dest[1..=len], &src[..], "length {len}");
            assert_eq!(
                (dest[0], dest[len + 1]),
                (0, 0),
                "length {len}: wrote outside"
            );
        }
    }

    #[test]
    fn memmove_copies_overlapping_ranges_either_way_and_returns_dest() {
        for len in [0, 1, 2, 7, 8, 9, 33, 64, 200] {
            for shift in [1usize, 3, 8, 17] {
                // dest after src (backward copy), then before it (forward).
                for (src_at, dest_at) in [(0, shift), (shift, 0)] {
                    let mut buffer = pattern(len + shift);
                    let mut expected = buffer.clone();
                    expected.copy_within(src_at..src_at + len, dest_at);
                    let base = buffer.as_mut_ptr();
                    // SAFETY: both ranges lie inside `buffer`.
                    let returned = unsafe { memmove(base.add(dest_at), base.add(src_at), len) };
                    assert_eq!(returned, base.wrapping_add(dest_at));
                    assert_eq!(buffer, expected, "length {len}, {src_at} -> {dest_at}");
                }
            }
        }
    }

    #[test]
    fn memmove_copies_disjoint_ranges() {
        let src = pattern(100);
        let mut dest = vec![0u8; 100];
        // SAFETY: both buffers hold 100 bytes.
        unsafe { memmove(dest.as_mut_ptr(), src.as_ptr(), 100) };
        assert_eq!(dest, src);
    }
}
