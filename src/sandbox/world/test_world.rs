//! A small world for the unit tests of each concern.

use std::time::{Duration, Instant};

use super::{Build, Platform, VIRTUAL_MEASUREMENT, World};
use crate::sandbox::latency::LatencyModel;

pub(super) fn build(host: &str, v: &str) -> Build {
    Build {
        platform: Platform::Virtual,
        ccf_version: v.into(),
        host_data: host.repeat(32),
        measurement: VIRTUAL_MEASUREMENT.into(),
        uvm: None,
    }
}

pub(super) fn world(n: usize) -> (World, Instant) {
    let now = Instant::now();
    let genesis: Vec<_> = (0..n)
        .map(|i| (format!("{i}").repeat(64), 1000 + i as u16))
        .collect();
    let lat = LatencyModel {
        jitter: 0.0,
        ..Default::default()
    };
    (
        World::new(lat, 1, now, &genesis, &build("aa", "ccf-7.0.1"), Vec::new()),
        now,
    )
}

pub(super) fn run(w: &mut World, from: Instant, ms: u64) -> Instant {
    let mut t = from;
    for _ in 0..ms / 10 {
        t += Duration::from_millis(10);
        w.tick(t);
    }
    t
}
