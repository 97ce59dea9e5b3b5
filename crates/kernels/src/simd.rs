//! Run-time dispatch to AVX-512 or AVX2 code for the element-wise kernels.
//!
//! The workspace builds for baseline x86-64 (SSE2), where LLVM vectorises only 4 lanes and
//! cannot use `vroundps`/`vmaxps` on 8 lanes. [`multiversion!`] compiles a kernel body three
//! times — plain, inside an `avx2,fma` function, and inside an `avx512f` one (16 lanes, for
//! the CPUs that have it; AMD Zen 3 does not, Zen 4 and Intel server parts do) — and picks
//! the widest the CPU runs. Every copy runs the same operations in the same order (Rust
//! never contracts `a*b + c` into an FMA on its own, nor reassociates a sum; an explicit
//! `mul_add` is one correctly rounded FMA in every copy, a libm call in the plain one), so
//! they give bit-identical results.

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
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    portable($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    portable($($arg),*)
                }
                if std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU was just checked to support every enabled feature.
                    return unsafe { avx512($($arg),*) };
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
