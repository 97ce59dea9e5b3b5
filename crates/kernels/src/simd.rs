//! Run-time dispatch to AVX2 code for the element-wise kernels.
//!
//! The workspace builds for baseline x86-64 (SSE2), where LLVM vectorises only 4 lanes and
//! cannot use `vroundps`/`vmaxps` on 8 lanes. [`multiversion!`] compiles a kernel body twice —
//! once plain, once inside an `avx2,fma` function — and picks the second when the CPU has
//! it. Both copies run the same operations in the same order (Rust never contracts `a*b + c`
//! into an FMA on its own), so they give bit-identical results.

/// Defines `fn $name(args) -> ret { body }` that runs `body` compiled for AVX2 + FMA when the
/// CPU supports them, and for the baseline target otherwise. Helpers the body calls must be
/// `#[inline(always)]` to be compiled into the AVX2 copy.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn portable($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    portable($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU was just checked to support every enabled feature.
                    return unsafe { avx2($($arg),*) };
                }
            }
            portable($($arg),*)
        }
    };
}

pub(crate) use multiversion;

/// Lanes per SIMD chunk: 8 `f32` fill one AVX register (two SSE registers).
pub(crate) const LANES: usize = 8;
