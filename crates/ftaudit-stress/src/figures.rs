//! From timed rounds to figures: per worker count, the median wall time, the paired speed-up
//! over the same round's 1-worker run (median, quartiles, range) and the parallel efficiency.

use std::collections::BTreeMap;

use ftaudit_model::{ScalingPoint, Spread};

/// One timed run, as the driver measured it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Round {
    pub workers: usize,
    pub round: usize,
    pub wall: f64,
    pub cpu: f64,
    pub wait: f64,
    pub late: usize,
    pub gil: bool,
}

/// Quartiles by linear interpolation between order statistics; None for no values.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let pos = q * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    Some(Spread {
        median: at(0.5),
        q1: at(0.25),
        q3: at(0.75),
        min: v[0],
        max: v[v.len() - 1],
    })
}

/// The scaling points of one executor, in ascending worker count; `cores` bounds efficiency.
pub fn points(rounds: &[Round], cores: usize) -> Vec<ScalingPoint> {
    let mut by_workers: BTreeMap<usize, Vec<&Round>> = BTreeMap::new();
    for r in rounds {
        by_workers.entry(r.workers).or_default().push(r);
    }
    let single: BTreeMap<usize, f64> = by_workers
        .get(&1)
        .map(|rs| rs.iter().map(|r| (r.round, r.wall)).collect())
        .unwrap_or_default();
    by_workers
        .iter()
        .map(|(&workers, rs)| {
            let walls: Vec<f64> = rs.iter().map(|r| r.wall).collect();
            let speedups: Vec<f64> = rs
                .iter()
                .filter_map(|r| {
                    single
                        .get(&r.round)
                        .filter(|_| r.wall > 0.0)
                        .map(|one| one / r.wall)
                })
                .collect();
            let speedup = spread(&speedups);
            let parallel: Vec<f64> = rs
                .iter()
                .filter(|r| r.wall > 0.0)
                .map(|r| r.cpu / r.wall)
                .collect();
            let waits: Vec<f64> = rs
                .iter()
                .filter(|r| r.cpu + r.wait > 0.0)
                .map(|r| r.wait / (r.cpu + r.wait))
                .collect();
            ScalingPoint {
                workers,
                wall_seconds: walls.clone(),
                median_seconds: spread(&walls).map_or(0.0, |s| s.median),
                efficiency: speedup.map(|s| s.median / workers.min(cores.max(1)) as f64),
                speedup,
                cpu_parallelism: spread(&parallel).map_or(0.0, |s| s.median),
                wait_fraction: spread(&waits).map_or(0.0, |s| s.median),
                late_starts: rs.iter().map(|r| r.late).sum(),
                rounds_under_gil: rs.iter().filter(|r| r.gil).count(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(workers: usize, round: usize, wall: f64) -> Round {
        Round {
            workers,
            round,
            wall,
            cpu: wall * workers as f64,
            wait: 0.0,
            late: 0,
            gil: false,
        }
    }

    #[test]
    fn quartiles_interpolate() {
        let s = spread(&[4.0, 1.0, 3.0, 2.0, 5.0]).unwrap();
        assert_eq!(
            (s.min, s.q1, s.median, s.q3, s.max),
            (1.0, 2.0, 3.0, 4.0, 5.0)
        );
        let s = spread(&[1.0, 2.0]).unwrap();
        assert_eq!(s.median, 1.5);
        assert!(spread(&[]).is_none());
    }

    #[test]
    fn speedup_is_paired_with_the_same_round() {
        // Round 1 is slow for everyone (a noisy neighbour): paired, it still shows 2x.
        let rounds = [
            round(1, 0, 1.0),
            round(2, 0, 0.5),
            round(1, 1, 3.0),
            round(2, 1, 1.5),
            round(1, 2, 1.0),
            round(2, 2, 0.5),
        ];
        let points = points(&rounds, 2);
        assert_eq!(points.len(), 2);
        let two = &points[1];
        assert_eq!(two.workers, 2);
        let s = two.speedup.unwrap();
        assert_eq!((s.min, s.median, s.max), (2.0, 2.0, 2.0));
        assert_eq!(two.efficiency, Some(1.0));
        assert_eq!(two.median_seconds, 0.5);
        assert!((two.cpu_parallelism - 2.0).abs() < 1e-9);
    }
}
