//! How much a run tolerates before it stops: a step that keeps running without effect, and
//! transient failures it rides out by looking again.

use std::collections::BTreeMap;
use std::time::Duration;

/// Transient failures a run rides out by re-observing and re-planning.
const MAX_TRANSIENT_FAILURES: usize = 8;

/// Runs of one step on one unchanged service before the run gives up on it.
const MAX_REPEATS: usize = 3;

/// What a run has spent.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    /// Runs per step and service fingerprint.
    repeats: BTreeMap<String, usize>,
    transient_failures: usize,
}

impl Budget {
    /// Count one run of the step `key` (a step on a service fingerprint): false when it has
    /// already run [`MAX_REPEATS`] times without taking effect.
    pub(crate) fn attempt(&mut self, key: &str) -> bool {
        let seen = self.repeats.entry(key.to_string()).or_default();
        *seen += 1;
        *seen <= MAX_REPEATS
    }

    /// The step `key` was cut short by a transient failure: while the budget lasts, its
    /// attempt is not counted and the pause before looking again is returned (longer each
    /// time).
    pub(crate) fn transient(&mut self, key: &str) -> Option<Duration> {
        if self.transient_failures >= MAX_TRANSIENT_FAILURES {
            return None;
        }
        self.transient_failures += 1;
        if let Some(seen) = self.repeats.get_mut(key) {
            *seen -= 1;
        }
        Some(Duration::from_millis(250 * self.transient_failures as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_runs_three_times_on_an_unchanged_service() {
        let mut b = Budget::default();
        assert!(b.attempt("a") && b.attempt("a") && b.attempt("a"));
        assert!(b.attempt("b"));
        assert!(!b.attempt("a"));
    }

    #[test]
    fn a_transient_failure_does_not_count_as_an_attempt() {
        let mut b = Budget::default();
        for _ in 0..3 {
            assert!(b.attempt("a"));
            assert!(b.transient("a").is_some());
        }
        assert!(b.attempt("a") && b.attempt("a") && b.attempt("a"));
        assert!(!b.attempt("a"));
    }

    #[test]
    fn transient_failures_are_ridden_out_eight_times_with_growing_pauses() {
        let mut b = Budget::default();
        let pauses: Vec<_> = (0..9).map(|_| b.transient("a")).collect();
        assert_eq!(pauses[0], Some(Duration::from_millis(250)));
        assert_eq!(pauses[7], Some(Duration::from_millis(2000)));
        assert_eq!(pauses[8], None);
    }
}
