//! The sandbox's latency model and its deterministic random numbers.
//!
//! Every service-side delay is drawn from a base value with ±`jitter` spread, divided by
//! `speed`. With the same `--seed` the same sequence of delays is drawn.
//!
//! Critical path of an upgrade of an n-node service to n new nodes (the unavoidable service
//! latency, used by the benchmark; mean values, after dividing by `speed`):
//!
//! ```text
//! CP(n) = commit                 register the new code version (the accepting ballot)
//!       + join                   new nodes appear Pending (launched in parallel)
//!       + max(commit, catch_up)  trust all of them in one proposal; they catch up meanwhile
//!       + n × 3 × commit         per old node: the retirement, CCF's retired_committed write,
//!                                the DELETE
//!       + election               the primary's retirement hands over leadership
//!       + commit                 finalize: remove the old code version
//! ```
//!
//! Adding the new nodes one at a time (launch, trust, next), as CCF's own test harness does,
//! makes the join and trust terms per node:
//!
//! ```text
//! CPseq(n) = commit + n × (join + max(commit, catch_up)) + n × 3 × commit + election + commit
//! ```

use std::time::Duration;

/// Mean service latencies at speed 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyModel {
    /// Launch → the node appears Pending on the primary (attestation verified).
    pub join: Duration,
    /// A transaction is appended → it is committed (replication + signature).
    pub commit: Duration,
    /// A node is trusted → it has caught up and presents its endorsed certificate.
    pub catch_up: Duration,
    /// The primary steps down or fails → a new primary is elected.
    pub election: Duration,
    /// Relative spread of each sample: 0.2 means ±20 %.
    pub jitter: f64,
    /// Divides every latency (2.0 = twice as fast).
    pub speed: f64,
}

impl Default for LatencyModel {
    fn default() -> Self {
        LatencyModel {
            join: Duration::from_millis(400),
            commit: Duration::from_millis(60),
            catch_up: Duration::from_millis(300),
            election: Duration::from_millis(800),
            jitter: 0.2,
            speed: 1.0,
        }
    }
}

impl LatencyModel {
    /// The same model at another speed.
    pub fn with_speed(mut self, speed: f64) -> Self {
        self.speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        self
    }

    fn scaled(&self, base: Duration, rng: &mut Rng) -> Duration {
        let spread = 1.0 + self.jitter * (rng.next_f64() * 2.0 - 1.0);
        base.mul_f64(spread.max(0.0) / self.speed)
    }

    /// A join latency sample.
    pub fn join(&self, rng: &mut Rng) -> Duration {
        self.scaled(self.join, rng)
    }
    /// A commit latency sample.
    pub fn commit(&self, rng: &mut Rng) -> Duration {
        self.scaled(self.commit, rng)
    }
    /// A catch-up latency sample.
    pub fn catch_up(&self, rng: &mut Rng) -> Duration {
        self.scaled(self.catch_up, rng)
    }
    /// An election latency sample.
    pub fn election(&self, rng: &mut Rng) -> Duration {
        self.scaled(self.election, rng)
    }

    /// The sequential critical path formula above, with mean values.
    pub fn critical_path_sequential(&self, n: usize) -> Duration {
        let s = |d: Duration| d.div_f64(self.speed);
        s(self.commit)
            + (s(self.join) + s(self.commit.max(self.catch_up))) * n as u32
            + s(self.commit) * (3 * n as u32)
            + s(self.election)
            + s(self.commit)
    }

    /// The critical path formula above, with mean values. Trusting n new nodes into n
    /// caught-up ones takes two batches that never stall commits (n − 1, then 1 once those
    /// have caught up), one for a 1-node service.
    pub fn critical_path(&self, n: usize) -> Duration {
        let s = |d: Duration| d.div_f64(self.speed);
        let batches = if n > 1 { 2 } else { 1 };
        s(self.commit)
            + s(self.join)
            + s(self.commit.max(self.catch_up)) * batches
            + s(self.commit) * (3 * n as u32)
            + s(self.election)
            + s(self.commit)
    }
}

/// SplitMix64: tiny, fast, and deterministic for a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform index below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_delays_and_speed_scales() {
        let m = LatencyModel::default();
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xa: Vec<_> = (0..5).map(|_| m.join(&mut a)).collect();
        let xb: Vec<_> = (0..5).map(|_| m.join(&mut b)).collect();
        assert_eq!(xa, xb);
        for d in xa {
            assert!(
                d >= Duration::from_millis(320) && d <= Duration::from_millis(480),
                "{d:?}"
            );
        }
        let fast = m.with_speed(4.0);
        assert_eq!(fast.critical_path(3), m.critical_path(3) / 4);
    }

    #[test]
    fn critical_path_formula() {
        let m = LatencyModel {
            jitter: 0.0,
            ..Default::default()
        };
        // 60 + 400 + 2×300 + 9×60 + 800 + 60
        assert_eq!(m.critical_path(3), Duration::from_millis(2460));
    }
}
