//! Which part of a scene list this process searches.
//!
//! Shard `I` of `N` (0-based) takes the scenes at positions `I, I + N, I + 2N, …` of the
//! sorted, deduplicated list. Striding rather than cutting the list into blocks spreads
//! each frame's pairs (sorted together) over every task, so tasks take about equally long
//! and one slow frame does not hold up one task. Every process of an array sees the same
//! list, so the shards are disjoint and together cover it, with no coordinator.
//!
//! Where the shard comes from, first found wins:
//! 1. `--shard I/N`;
//! 2. Slurm job arrays: `SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` (0 when unset) of
//!    `SLURM_ARRAY_TASK_COUNT`, so `--array=0-99` and `--array=1-100` both give shards 0–99
//!    of 100. With `--shard-count N` the task id itself is the shard of N: that is what
//!    resubmitting a few tasks of an array (`--array=3,17`) needs, since Slurm then counts
//!    and offsets by the resubmitted tasks alone;
//! 3. Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` of `--shard-count` or else the
//!    environment variable `JOB_COMPLETIONS` (Kubernetes does not export the count, so the
//!    Job spec sets it, or the command line says it);
//! 4. otherwise the whole list (shard 0 of 1).

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count`, `index < count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// The shard, when `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 {
            return Err("a shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is not below the count {count} (shards are numbered from 0)"
            ));
        }
        Ok(Self { index, count })
    }

    /// The items of `sorted` that are this shard's.
    pub fn select<T: Clone>(&self, sorted: &[T]) -> Vec<T> {
        sorted
            .iter()
            .skip(self.index)
            .step_by(self.count)
            .cloned()
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`, as `--shard` takes it.
    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a shard: write I/N, e.g. 0/4"))?;
        let num = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|e| format!("{t:?} in shard {s:?} is not a whole number: {e}"))
        };
        Self::new(num(i)?, num(n)?)
    }
}

/// Where the shard came from, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Slurm,
    Kubernetes,
    Whole,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Flag => "--shard",
            Origin::Slurm => "Slurm array",
            Origin::Kubernetes => "Kubernetes indexed job",
            Origin::Whole => "no sharding",
        })
    }
}

/// This process's shard from the flags and the environment (`env` looks a variable up).
pub fn resolve(
    flag: Option<Shard>,
    count_flag: Option<usize>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Shard, Origin), String> {
    if let Some(s) = flag {
        return Ok((s, Origin::Flag));
    }
    let var = |name: &str| -> Result<Option<usize>, String> {
        env(name)
            .map(|v| {
                v.trim().parse::<usize>().map_err(|e| {
                    format!("environment variable {name}={v:?} is not a whole number: {e}")
                })
            })
            .transpose()
    };
    if let Some(id) = var("SLURM_ARRAY_TASK_ID")? {
        return slurm(
            id,
            count_flag,
            var("SLURM_ARRAY_TASK_COUNT")?,
            var("SLURM_ARRAY_TASK_MIN")?,
        )
        .map(|s| (s, Origin::Slurm));
    }
    if let Some(index) = var("JOB_COMPLETION_INDEX")? {
        let count = match count_flag {
            Some(n) => n,
            None => var("JOB_COMPLETIONS")?.ok_or(
                "JOB_COMPLETION_INDEX is set but not the number of completions: pass \
                 --shard-count N or set JOB_COMPLETIONS in the Job's environment",
            )?,
        };
        return Shard::new(index, count)
            .map(|s| (s, Origin::Kubernetes))
            .map_err(|e| format!("Kubernetes indexed job: {e}"));
    }
    Ok((Shard::WHOLE, Origin::Whole))
}

fn slurm(
    id: usize,
    count_flag: Option<usize>,
    count: Option<usize>,
    min: Option<usize>,
) -> Result<Shard, String> {
    let shard = match count_flag {
        Some(n) => Shard::new(id, n),
        None => {
            let count = count.ok_or(
                "SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT: pass --shard-count N",
            )?;
            let min = min.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
            })?;
            Shard::new(index, count).map_err(|e| {
                format!(
                    "{e}: a stepped or sparse --array (task {id}, lowest {min}, {count} tasks) \
                     needs --shard-count N, the number of shards of the whole array"
                )
            })
        }
    };
    shard.map_err(|e| format!("Slurm array task {id}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|&(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn every_scene_in_exactly_one_shard() {
        for len in [0usize, 1, 5, 13, 100] {
            let list: Vec<usize> = (0..len).collect();
            for n in 1..=7 {
                let mut seen = vec![0u32; len];
                for i in 0..n {
                    let part = Shard::new(i, n).map(|s| s.select(&list)).unwrap();
                    // Shards differ in size by at most one scene.
                    assert!(part.len() == len / n || part.len() == len / n + 1);
                    for &k in &part {
                        assert_eq!(k % n, i, "scene {k} in shard {i}/{n}");
                        seen[k] += 1;
                    }
                }
                assert!(
                    seen.iter().all(|&c| c == 1),
                    "{len} scenes, {n} shards: {seen:?}"
                );
            }
        }
    }

    #[test]
    fn parses_i_of_n() {
        assert_eq!("3/8".parse::<Shard>(), Ok(Shard { index: 3, count: 8 }));
        assert!("8/8".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert!("3".parse::<Shard>().is_err());
        assert!("-1/4".parse::<Shard>().is_err());
    }

    #[test]
    fn flag_then_slurm_then_kubernetes() {
        let all = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "10"),
            ("JOB_COMPLETION_INDEX", "2"),
            ("JOB_COMPLETIONS", "4"),
        ]);
        let flag = Shard::new(1, 3).ok();
        assert_eq!(
            resolve(flag, None, &all),
            Ok((Shard { index: 1, count: 3 }, Origin::Flag))
        );
        assert_eq!(
            resolve(None, None, &all),
            Ok((
                Shard {
                    index: 5,
                    count: 10
                },
                Origin::Slurm
            ))
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "2"), ("JOB_COMPLETIONS", "4")]);
        assert_eq!(
            resolve(None, None, &k8s),
            Ok((Shard { index: 2, count: 4 }, Origin::Kubernetes))
        );
        // --shard-count wins over JOB_COMPLETIONS.
        assert_eq!(resolve(None, Some(6), &k8s).map(|r| r.0.count), Ok(6));
        assert_eq!(
            resolve(None, None, env(&[])),
            Ok((Shard::WHOLE, Origin::Whole))
        );
    }

    #[test]
    fn slurm_offsets_by_the_lowest_task() {
        // --array=1-100: task 1 is shard 0, task 100 shard 99.
        let first = env(&[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "100"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert_eq!(resolve(None, None, first).map(|r| r.0), Shard::new(0, 100));
        let last = env(&[
            ("SLURM_ARRAY_TASK_ID", "100"),
            ("SLURM_ARRAY_TASK_COUNT", "100"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert_eq!(resolve(None, None, last).map(|r| r.0), Shard::new(99, 100));
        // A resubmitted task (--array=17) of a 100-task array keeps its shard with --shard-count.
        let again = env(&[
            ("SLURM_ARRAY_TASK_ID", "17"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
            ("SLURM_ARRAY_TASK_MIN", "17"),
        ]);
        assert_eq!(
            resolve(None, Some(100), &again).map(|r| r.0),
            Shard::new(17, 100)
        );
        // Without it, a stepped array (--array=0-9:2, 5 tasks) is refused, not mis-sharded.
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "8"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
        ]);
        let err = resolve(None, None, stepped).unwrap_err();
        assert!(err.contains("--shard-count"), "{err}");
    }

    #[test]
    fn incomplete_environments_are_refused() {
        let no_count = env(&[("SLURM_ARRAY_TASK_ID", "3")]);
        assert!(
            resolve(None, None, no_count)
                .unwrap_err()
                .contains("SLURM_ARRAY_TASK_COUNT")
        );
        let no_completions = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert!(
            resolve(None, None, &no_completions)
                .unwrap_err()
                .contains("JOB_COMPLETIONS")
        );
        assert!(
            resolve(None, Some(3), &no_completions).is_err(),
            "index 3 of 3"
        );
        let garbage = env(&[("SLURM_ARRAY_TASK_ID", "x")]);
        assert!(
            resolve(None, None, garbage)
                .unwrap_err()
                .contains("SLURM_ARRAY_TASK_ID")
        );
    }
}
