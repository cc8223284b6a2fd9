//! A sweep's progress as text: points done of the total (resumed points included), the
//! percentage and an estimate of the time left, e.g.
//! `sweep: 1200/4800 points, 25%, ETA 3m00s`. Pure: the command line decides where and
//! how often it is shown (a bar on a terminal, plain lines in a batch job's log).
//!
//! The estimate extrapolates this run's own rate: evaluations finished since it started
//! over the time since it started. Resumed points took no time in this run, so they count
//! towards the total done but not towards the rate.

use std::time::Duration;

/// Progress counted in evaluations (one per point and workload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Evaluations of the whole run (points of the shard x workloads).
    pub total: u64,
    /// Evaluations done, resumed ones included.
    pub done: u64,
    /// Evaluations that were read back rather than evaluated by this run.
    pub resumed: u64,
    /// Workloads per point (evaluations per point), at least 1.
    pub workloads: u64,
}

impl Progress {
    /// Whole points done (a point counts once all its workloads are evaluated).
    pub fn points_done(&self) -> u64 {
        self.done / self.workloads.max(1)
    }

    /// Points of the run.
    pub fn points_total(&self) -> u64 {
        self.total / self.workloads.max(1)
    }

    /// Percentage done, rounded down (100 only when everything is done; 100 for an
    /// empty run).
    pub fn percent(&self) -> u64 {
        (self.done.min(self.total) * 100)
            .checked_div(self.total)
            .unwrap_or(100)
    }

    /// Time left at this run's rate after `elapsed`: `elapsed x left / evaluated`, where
    /// `evaluated = done - resumed`; `None` before this run finished an evaluation.
    pub fn eta(&self, elapsed: Duration) -> Option<Duration> {
        let evaluated = self.done.saturating_sub(self.resumed);
        let left = self.total.saturating_sub(self.done);
        if left == 0 {
            return Some(Duration::ZERO);
        }
        if evaluated == 0 {
            return None;
        }
        Some(elapsed.mul_f64(left as f64 / evaluated as f64))
    }

    /// `1200/4800 points, 25%, ETA 3m00s` (`ETA unknown` before the first evaluation).
    pub fn summary(&self, elapsed: Duration) -> String {
        format!(
            "{}/{} points, {}%, ETA {}",
            self.points_done(),
            self.points_total(),
            self.percent(),
            self.eta(elapsed)
                .map_or_else(|| "unknown".to_string(), clock)
        )
    }

    /// The plain progress line: `sweep: ` and [`Progress::summary`].
    pub fn line(&self, elapsed: Duration) -> String {
        format!("sweep: {}", self.summary(elapsed))
    }
}

/// A duration as `45s`, `3m10s` or `2h05m` (rounded to the second, or to the minute
/// from an hour on).
pub fn clock(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        let m = (s + 30) / 60;
        format!("{}h{:02}m", m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counts_points_and_extrapolates_this_runs_rate() {
        // 4800 points of 2 workloads; 1200 points done in 60 s from a fresh start:
        // 20 points/s, so the 3600 left take 180 s.
        let p = Progress {
            total: 9600,
            done: 2400,
            resumed: 0,
            workloads: 2,
        };
        assert_eq!(
            p.line(Duration::from_secs(60)),
            "sweep: 1200/4800 points, 25%, ETA 3m00s"
        );
        // The same state reached by resuming 1000 points and evaluating 200 in 60 s:
        // 200 points per minute, so 3600 left take 18 minutes.
        let r = Progress { resumed: 2000, ..p };
        assert_eq!(
            r.eta(Duration::from_secs(60)),
            Some(Duration::from_secs(1080))
        );
        assert_eq!(
            r.summary(Duration::from_secs(60)),
            "1200/4800 points, 25%, ETA 18m00s"
        );
        // Nothing evaluated yet: no rate.
        let s = Progress {
            done: 2000,
            resumed: 2000,
            ..p
        };
        assert_eq!(s.eta(Duration::from_secs(5)), None);
        assert!(s.line(Duration::from_secs(5)).ends_with("ETA unknown"));
        let done = Progress { done: 9600, ..p };
        assert_eq!(
            done.line(Duration::from_secs(9)),
            "sweep: 4800/4800 points, 100%, ETA 0s"
        );
        // A point counts once all its workloads are done; 99.99% is 99%.
        let q = Progress {
            total: 10000,
            done: 9999,
            resumed: 0,
            workloads: 2,
        };
        assert_eq!((q.points_done(), q.percent()), (4999, 99));
    }

    #[test]
    fn clock_rounds_to_the_unit_shown() {
        assert_eq!(clock(Duration::from_millis(44_600)), "45s");
        assert_eq!(clock(Duration::from_secs(190)), "3m10s");
        assert_eq!(clock(Duration::from_secs(3599)), "59m59s");
        assert_eq!(clock(Duration::from_secs(2 * 3600 + 5 * 60 + 29)), "2h05m");
        assert_eq!(clock(Duration::from_secs(2 * 3600 + 5 * 60 + 30)), "2h06m");
    }
}
