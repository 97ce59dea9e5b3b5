//! The driver: corpus in, mutated inputs through a target, panics caught and recorded.
//!
//! Input `i` of a run is a pure function of (corpus, seed, i) ([`input_at`]): the first
//! `corpus.len()` inputs are the corpus itself, unchanged (they must all pass), every later
//! one is a random corpus entry with 1–6 stacked mutations drawn from a generator seeded by
//! (seed, i). So a run can be cut anywhere and continued from any iteration (the CLI does
//! that after a child process dies), and any failure is replayed by its iteration alone.

use std::collections::BTreeMap;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::mutate::{self, Mutation};

/// One file of a corpus entry. An entry may have several (a GAMMA raster and its `.par`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// File name the target writes it under (the extension selects the reader).
    pub name: String,
    /// Text mutators (numbers, nesting, lines) apply besides the byte mutators.
    pub text: bool,
    pub bytes: Vec<u8>,
}

/// A corpus entry: a valid input the target must accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// Where it came from (`fixture:cropA…tif`, `ours:f32-tiled-lzw`…), for reports.
    pub name: String,
    pub parts: Vec<Part>,
}

impl Seed {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            parts: Vec::new(),
        }
    }

    /// Adds a binary part.
    pub fn binary(mut self, file: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.parts.push(Part {
            name: file.into(),
            text: false,
            bytes,
        });
        self
    }

    /// Adds a text part.
    pub fn text(mut self, file: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        self.parts.push(Part {
            name: file.into(),
            text: true,
            bytes: bytes.into(),
        });
        self
    }
}

/// One input of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub iteration: u64,
    /// Index of the corpus entry it was made from.
    pub seed: usize,
    pub seed_name: String,
    pub parts: Vec<Part>,
    /// What was done to it, in order (`field@0`, `number@1`…: mutation @ part index).
    pub mutations: Vec<String>,
}

impl Input {
    /// The bytes of the part called `name`.
    pub fn part(&self, name: &str) -> Option<&[u8]> {
        self.parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.bytes.as_slice())
    }

    /// Writes every part into `dir` under its name; returns the paths, in part order.
    pub fn write_to(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        self.parts
            .iter()
            .map(|p| {
                let path = dir.join(&p.name);
                std::fs::write(&path, &p.bytes)?;
                Ok(path)
            })
            .collect()
    }
}

/// SplitMix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator of iteration `i` under `seed`.
pub fn rng_for(seed: u64, iteration: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(mix(seed) ^ iteration))
}

/// Largest input a mutation may grow to.
pub const DEFAULT_MAX_LEN: usize = 16 << 20;

/// Input `iteration` of a run over `corpus` with `seed` (see the module doc).
///
/// # Panics
/// If `corpus` is empty or an entry has no parts.
pub fn input_at(corpus: &[Seed], seed: u64, iteration: u64, max_len: usize) -> Input {
    assert!(!corpus.is_empty(), "an empty corpus");
    if let Ok(k) = usize::try_from(iteration)
        && k < corpus.len()
    {
        return Input {
            iteration,
            seed: k,
            seed_name: corpus[k].name.clone(),
            parts: corpus[k].parts.clone(),
            mutations: Vec::new(),
        };
    }
    let mut rng = rng_for(seed, iteration);
    let k = rng.random_range(0..corpus.len());
    let entry = &corpus[k];
    assert!(
        !entry.parts.is_empty(),
        "corpus entry {} has no parts",
        entry.name
    );
    let mut parts = entry.parts.clone();
    let mut mutations = Vec::new();
    let mut n = 1;
    while n < 6 && rng.random_bool(0.45) {
        n += 1;
    }
    for _ in 0..n {
        let p = rng.random_range(0..parts.len());
        let part = &mut parts[p];
        // Splice partner: the same part of another entry when it has one, else any part of
        // the same kind, else none.
        let o = rng.random_range(0..corpus.len());
        let other = corpus[o]
            .parts
            .get(p)
            .filter(|q| q.text == part.text)
            .or_else(|| corpus[o].parts.iter().find(|q| q.text == part.text))
            .map(|q| q.bytes.as_slice());
        for _attempt in 0..8 {
            let m = pick(&mut rng, part.text);
            if mutate::apply(m, &mut rng, &mut part.bytes, other, max_len) {
                mutations.push(format!("{}@{p}", m.name()));
                break;
            }
        }
    }
    Input {
        iteration,
        seed: k,
        seed_name: entry.name.clone(),
        parts,
        mutations,
    }
}

/// A mutator for a part: text parts get the text mutators two times in three (they keep
/// more inputs parseable, so the checks behind the parser are reached).
fn pick(rng: &mut ChaCha8Rng, text: bool) -> Mutation {
    if text && rng.random_bool(2.0 / 3.0) {
        Mutation::TEXT[rng.random_range(0..Mutation::TEXT.len())]
    } else {
        Mutation::BINARY[rng.random_range(0..Mutation::BINARY.len())]
    }
}

/// How long to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// First iteration (0 starts with the unmodified corpus).
    pub start: u64,
    /// Stop after this many inputs…
    pub iterations: Option<u64>,
    /// …or at this instant, whichever comes first (neither: run forever).
    pub deadline: Option<Instant>,
    pub max_len: usize,
    /// Failures kept with their input (all are counted).
    pub max_failures: usize,
}

impl Options {
    pub fn iterations(seed: u64, n: u64) -> Self {
        Self {
            seed,
            start: 0,
            iterations: Some(n),
            deadline: None,
            max_len: DEFAULT_MAX_LEN,
            max_failures: 100,
        }
    }

    pub fn for_duration(seed: u64, d: Duration) -> Self {
        Self {
            deadline: Some(Instant::now() + d),
            iterations: None,
            ..Self::iterations(seed, 0)
        }
    }
}

/// What one input did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok,
    /// The reader refused it: the expected answer to a damaged file.
    Error(String),
    /// A panic: a bug.
    Panic {
        message: String,
        /// `file:line:col` of the panic, when the hook saw it.
        location: Option<String>,
    },
}

/// A panicking input.
#[derive(Debug, Clone)]
pub struct Failure {
    pub input: Input,
    pub message: String,
    pub location: Option<String>,
}

/// The result of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub inputs_run: u64,
    pub ok: u64,
    pub errors: u64,
    /// Panics (all of them; `failures` keeps the first `max_failures`).
    pub panics: u64,
    pub failures: Vec<Failure>,
    pub elapsed: Duration,
    /// Error messages with digits masked, and how often each came (up to 200 kinds):
    /// many kinds mean the mutations reach deep into the readers.
    pub error_kinds: BTreeMap<String, u64>,
    /// The slowest input: (iteration, time).
    pub slowest: Option<(u64, Duration)>,
    /// The next iteration to run (to continue the run).
    pub next: u64,
}

/// Events of a run, for progress display and for a parent process watching a child.
pub enum Event<'a> {
    /// About to run this input (if the process dies now, this input killed it).
    Start(&'a Input),
    Done(&'a Input, &'a Outcome, Duration),
}

/// Runs `target` on the inputs of `corpus` (see [`Options`]) and records every panic.
pub fn run<T>(corpus: &[Seed], opts: &Options, target: T) -> Report
where
    T: FnMut(&Input) -> Result<(), String>,
{
    run_observed(corpus, opts, target, |_| {})
}

/// [`run`], telling `observe` before and after each input.
pub fn run_observed<T, O>(corpus: &[Seed], opts: &Options, mut target: T, mut observe: O) -> Report
where
    T: FnMut(&Input) -> Result<(), String>,
    O: FnMut(Event<'_>),
{
    let started = Instant::now();
    let mut report = Report {
        next: opts.start,
        ..Report::default()
    };
    let _quiet = Silenced::new();
    let mut i = opts.start;
    loop {
        if opts.iterations.is_some_and(|n| i - opts.start >= n)
            || opts.deadline.is_some_and(|d| Instant::now() >= d)
        {
            break;
        }
        let input = input_at(corpus, opts.seed, i, opts.max_len);
        observe(Event::Start(&input));
        let t0 = Instant::now();
        let outcome = run_one(&mut target, &input);
        let took = t0.elapsed();
        observe(Event::Done(&input, &outcome, took));
        report.inputs_run += 1;
        if report.slowest.is_none_or(|(_, d)| took > d) {
            report.slowest = Some((i, took));
        }
        match outcome {
            Outcome::Ok => report.ok += 1,
            Outcome::Error(msg) => {
                report.errors += 1;
                count_kind(&mut report.error_kinds, &msg);
            }
            Outcome::Panic { message, location } => {
                report.panics += 1;
                if report.failures.len() < opts.max_failures {
                    report.failures.push(Failure {
                        input,
                        message,
                        location,
                    });
                }
            }
        }
        i += 1;
        report.next = i;
    }
    report.elapsed = started.elapsed();
    report
}

/// Runs `target` on one input with panics caught (and kept quiet).
pub fn run_one<T>(target: &mut T, input: &Input) -> Outcome
where
    T: FnMut(&Input) -> Result<(), String>,
{
    let _quiet = Silenced::new();
    match panic::catch_unwind(AssertUnwindSafe(|| target(input))) {
        Ok(Ok(())) => Outcome::Ok,
        Ok(Err(e)) => Outcome::Error(e),
        Err(payload) => {
            let message = payload_text(payload.as_ref());
            let seen = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
            let location = seen.and_then(|(m, loc)| (m == message).then_some(loc).flatten());
            Outcome::Panic { message, location }
        }
    }
}

fn payload_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic with a non-text payload)".to_string()
    }
}

/// Masks digits and cuts long messages, so one kind of error counts as one.
fn count_kind(kinds: &mut BTreeMap<String, u64>, msg: &str) {
    let mut key = String::with_capacity(msg.len().min(120));
    let mut last_hash = false;
    for c in msg.chars() {
        if key.len() >= 120 {
            key.push('…');
            break;
        }
        if c.is_ascii_digit() {
            if !last_hash {
                key.push('#');
            }
            last_hash = true;
        } else {
            key.push(c);
            last_hash = false;
        }
    }
    if kinds.len() < 200 || kinds.contains_key(&key) {
        *kinds.entry(key).or_insert(0) += 1;
    } else {
        *kinds.entry("(other kinds)".to_string()).or_insert(0) += 1;
    }
}

/// Runs of the driver under way; while there is one, panics are recorded instead of printed.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// The last panic seen by the hook: (message, location).
static LAST_PANIC: Mutex<Option<(String, Option<String>)>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// Keeps the panic hook quiet while alive. The hook is installed once per process and
/// hands panics to the previous hook whenever no run is under way, so other code (and
/// other tests in the same process) print their panics as usual.
struct Silenced;

impl Silenced {
    fn new() -> Self {
        HOOK.call_once(|| {
            let previous = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if ACTIVE.load(Ordering::SeqCst) == 0 {
                    previous(info);
                    return;
                }
                let message = info
                    .payload_as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| "(a panic with a non-text payload)".to_string());
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some((message, location));
            }));
        });
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        Silenced
    }
}

impl Drop for Silenced {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<Seed> {
        vec![
            Seed::new("a").binary("a.bin", b"\x49\x49\x2a\x00abcdefgh".to_vec()),
            Seed::new("b")
                .text("b.txt", "0 0.5 0.5 0.1 0.1\n")
                .binary("b.raw", vec![1, 2, 3, 4]),
        ]
    }

    #[test]
    fn inputs_are_a_function_of_seed_and_iteration() {
        let c = corpus();
        for i in 0..200 {
            assert_eq!(input_at(&c, 5, i, 1 << 20), input_at(&c, 5, i, 1 << 20));
        }
        let differ = (2..200)
            .filter(|&i| input_at(&c, 5, i, 1 << 20) != input_at(&c, 6, i, 1 << 20))
            .count();
        assert!(differ > 150, "{differ}");
    }

    #[test]
    fn the_corpus_comes_first_unchanged_then_mutants() {
        let c = corpus();
        assert_eq!(input_at(&c, 1, 0, 1 << 20).parts, c[0].parts);
        assert_eq!(input_at(&c, 1, 1, 1 << 20).parts, c[1].parts);
        let mutated = (2..100)
            .filter(|&i| {
                let x = input_at(&c, 1, i, 1 << 20);
                assert!(!x.mutations.is_empty() || x.parts == c[x.seed].parts);
                x.parts != c[x.seed].parts
            })
            .count();
        assert!(mutated >= 95, "{mutated}");
    }

    #[test]
    fn panics_are_failures_errors_are_not() {
        let c = corpus();
        let report = run(&c, &Options::iterations(3, 300), |input| {
            let b = &input.parts[0].bytes;
            if b.len() > 3 && b[3] == 0xFF {
                panic!("byte three is {}", b[3]);
            }
            if b.len() < 8 {
                Err("short".into())
            } else {
                Ok(())
            }
        });
        assert_eq!(report.inputs_run, 300);
        assert_eq!(report.ok + report.errors + report.panics, 300);
        assert!(
            report.panics > 0 && report.errors > 0 && report.ok > 0,
            "{report:?}"
        );
        let f = &report.failures[0];
        assert_eq!(f.message, "byte three is 255");
        assert!(
            f.location
                .as_deref()
                .is_some_and(|l| l.contains("driver.rs")),
            "{f:?}"
        );
        assert_eq!(f.input.parts[0].bytes[3], 0xFF);
        assert_eq!(report.next, 300);
    }

    #[test]
    fn a_run_continues_where_another_stopped() {
        let c = corpus();
        let mut seen = Vec::new();
        let mut opts = Options::iterations(4, 50);
        run(&c, &opts, |x| {
            seen.push(x.clone());
            Ok(())
        });
        let mut second = Vec::new();
        opts.start = 20;
        opts.iterations = Some(30);
        run(&c, &opts, |x| {
            second.push(x.clone());
            Ok(())
        });
        assert_eq!(&seen[20..], &second[..]);
    }

    #[test]
    fn a_deadline_stops_the_run() {
        let report = run(
            &corpus(),
            &Options::for_duration(1, Duration::from_millis(50)),
            |_| Ok(()),
        );
        assert!(report.inputs_run > 0 && report.elapsed < Duration::from_secs(5));
    }
}
