//! A fuzzer for the readers, on the stable toolchain: a seeded mutation loop over a corpus
//! of real and self-written files, every input run under `catch_unwind`.
//!
//! - [`mutate`]: the mutators (bit flips, boundary bytes, huge/boundary integers in 2/4/8-byte
//!   fields, truncation, range duplication/deletion, splicing, TIFF IFD entries; for text:
//!   numbers → huge/negative/NaN/inf, deep nesting, line deletion/duplication).
//! - [`driver`]: corpus entries ([`Seed`], several files each if need be), the inputs of a
//!   run ([`input_at`]: a pure function of seed and iteration), [`run`] → [`Report`].
//!
//! A target is `FnMut(&Input) -> Result<(), String>`: it writes the input's files, calls the
//! real reader and returns its error as text. An `Err` is the right answer to a damaged file;
//! a panic is a bug and becomes a [`Failure`]. An abort (stack overflow, failed allocation)
//! ends the process: `yolo-basin fuzz` runs each target in a child process for that reason.
//! Every random draw comes from a `ChaCha8Rng` seeded from (run seed, iteration).

pub mod driver;
pub mod mutate;

pub use driver::{
    DEFAULT_MAX_LEN, Event, Failure, Input, Options, Outcome, Part, Report, Seed, input_at, run,
    run_observed, run_one,
};
pub use mutate::Mutation;
