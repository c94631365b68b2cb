//! Consensus: views, the primary and elections, the ledger's transactions and their commit
//! (a live majority of every active configuration, CCF `src/consensus/aft/raft.h`
//! `update_commit`), signatures (`src/node/history.h`), reconfigurations and the write stall
//! they can cause.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::nodes::Status;
use super::{ApiError, TxRef, World};
use crate::ccf::types::short_id;

/// The view the service starts in.
pub const GENESIS_VIEW: u64 = 2;

/// What a transaction changes once it commits.
#[derive(Debug, Clone)]
pub(super) enum Effect {
    Trust(Vec<String>),
    Retire(String),
    RetiredCommitted(String),
}

/// An appended transaction waiting to commit.
#[derive(Debug, Clone)]
pub(super) struct Tx {
    seqno: u64,
    ready_at: Instant,
    effects: Vec<Effect>,
}

/// Time during which writes waited to commit only because an active configuration had no
/// caught-up majority while enough of its nodes were running (a catch-up stall, e.g. after
/// trusting as many new nodes as there were old ones), as opposed to a crash, a partition,
/// an election or a quorum loss.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct WriteStall {
    /// Total stalled time, milliseconds.
    pub total_ms: u64,
    /// Longest single stall, milliseconds.
    pub longest_ms: u64,
    /// Number of stalls.
    pub count: u64,
}

/// The running sums behind [`WriteStall`].
#[derive(Debug, Default)]
pub(super) struct WriteStallAcc {
    total: Duration,
    longest: Duration,
    current: Duration,
    count: u64,
}

impl World {
    /// Highest appended seqno.
    pub fn last_seqno(&self) -> u64 {
        self.views.len() as u64 - 1
    }

    /// View of a seqno.
    pub fn view_of(&self, seqno: u64) -> u64 {
        self.views.get(seqno as usize).copied().unwrap_or(self.view)
    }

    /// Whether the node is live for consensus: reachable and caught up.
    fn live(&self, id: &str) -> bool {
        self.node_by_id(id)
            .is_some_and(|(_, n)| n.reachable() && n.caught_up())
    }

    fn active_configs(&self) -> impl Iterator<Item = &BTreeSet<String>> {
        let first = self
            .configs
            .iter()
            .rposition(|(s, _)| *s <= self.commit_seqno)
            .unwrap_or(0);
        self.configs[first..].iter().map(|(_, c)| c)
    }

    fn majority_live(&self, config: &BTreeSet<String>, live: impl Fn(&str) -> bool) -> bool {
        let n = config.iter().filter(|id| live(id)).count();
        n > config.len() / 2
    }

    fn quorum(&self) -> bool {
        self.active_configs()
            .all(|c| self.majority_live(c, |id| self.live(id)))
    }

    pub(super) fn append(&mut self, effects: Vec<Effect>, now: Instant) -> TxRef {
        self.unsigned = true;
        self.append_entry(effects, now)
    }

    /// A signature transaction: signs everything appended before it.
    fn append_signature(&mut self, now: Instant) -> TxRef {
        self.unsigned = false;
        self.append_entry(Vec::new(), now)
    }

    fn append_entry(&mut self, effects: Vec<Effect>, now: Instant) -> TxRef {
        let seqno = self.last_seqno() + 1;
        self.views.push(self.view);
        let ready_at = now + self.latency.commit(&mut self.rng);
        self.pending.push_back(Tx {
            seqno,
            ready_at,
            effects,
        });
        (self.view, seqno)
    }

    /// 503 while no primary is known.
    pub fn require_primary(&self) -> Result<(), ApiError> {
        if self.primary.is_none() {
            return Err(ApiError::new(
                503,
                "ServiceUnavailable",
                "Primary unknown: an election is in progress",
            ));
        }
        Ok(())
    }

    /// Status of `view.seqno` as `/node/tx` reports it.
    pub fn tx_status(&self, view: u64, seqno: u64) -> &'static str {
        if seqno == 0 {
            return "Invalid";
        }
        if seqno <= self.last_seqno() {
            if self.view_of(seqno) != view {
                "Invalid"
            } else if seqno <= self.commit_seqno {
                "Committed"
            } else {
                "Pending"
            }
        } else if view < self.view {
            "Invalid"
        } else {
            "Unknown"
        }
    }

    /// Advance the simulation to `now`: joins, catch-ups, elections, commits.
    pub fn tick(&mut self, now: Instant) {
        if let Some(last) = self.last_tick {
            let dt = now.saturating_duration_since(last);
            if self.stalled {
                self.stall.total += dt;
                self.stall.current += dt;
                self.stall.longest = self.stall.longest.max(self.stall.current);
            }
        }
        self.last_tick = Some(now);
        self.advance_lifecycles(now);
        self.advance_consensus(now);
        self.check_quorum(now);
        let stalled = self.catch_up_stall(now);
        if stalled && !self.stalled {
            self.stall.count += 1;
            self.stall.current = Duration::ZERO;
        }
        self.stalled = stalled;
    }

    /// A write is due to commit (its replication latency has passed) and a primary is there to
    /// commit it, every active configuration has a running majority, but some active
    /// configuration lacks a majority of caught-up nodes: commits wait only for joiners to
    /// catch up.
    fn catch_up_stall(&self, now: Instant) -> bool {
        let due = self.pending.front().is_some_and(|tx| now >= tx.ready_at);
        let running = |id: &str| self.node_by_id(id).is_some_and(|(_, n)| n.reachable());
        due && self.primary.is_some()
            && !self.quorum()
            && self
                .active_configs()
                .all(|c| self.majority_live(c, running))
    }

    /// The write-stall figures so far (see [`WriteStall`]).
    pub fn write_stall(&self) -> WriteStall {
        let ms = |d: Duration| d.as_millis() as u64;
        WriteStall {
            total_ms: ms(self.stall.total),
            longest_ms: ms(self.stall.longest),
            count: self.stall.count,
        }
    }

    fn advance_consensus(&mut self, now: Instant) {
        if let Some(p) = self.primary.clone()
            && !self.node_by_id(&p).is_some_and(|(_, n)| n.reachable())
        {
            self.log
                .push(format!("primary {} is gone: election", short_id(&p)));
            self.start_election(now);
        }
        if self.primary.is_none() {
            self.try_finish_election(now);
        }
        if self.primary.is_none() {
            return;
        }
        // The primary's signature task runs periodically (CCF: ledger_signatures.delay, 1 s)
        // but signs only if something was appended since the last signature
        // (src/node/history.h: CAN_SIGN → emit only if `committable_gap() > 0`), so an idle
        // service's commit index stays put.
        if now >= self.next_signature {
            if self.unsigned {
                let (_, seqno) = self.append_signature(now);
                self.snapshot_at_signature(seqno, now);
            }
            self.next_signature = now + Duration::from_secs(1).div_f64(self.latency.speed);
        }
        while let Some(tx) = self.pending.front() {
            if now < tx.ready_at || !self.quorum() {
                break;
            }
            let tx = self.pending.pop_front().expect("front exists");
            if !self
                .active_configs()
                .all(|c| self.majority_live(c, |id| self.live(id)))
            {
                self.violation(
                    now,
                    "commit_without_quorum",
                    format!("seqno {} committed without quorum", tx.seqno),
                );
            }
            self.commit_seqno = tx.seqno;
            let view = self.view_of(tx.seqno);
            self.event(now, "tx_committed", format!("{view}.{}", tx.seqno));
            for effect in tx.effects {
                self.after_commit(effect, tx.seqno, now);
            }
            if self.primary.is_none() {
                break;
            }
        }
        // Configurations older than the latest committed one are no longer active.
        if let Some(keep) = self
            .configs
            .iter()
            .rposition(|(s, _)| *s <= self.commit_seqno)
        {
            self.configs.drain(..keep);
        }
    }

    fn after_commit(&mut self, effect: Effect, seqno: u64, now: Instant) {
        match effect {
            Effect::Trust(ids) => {
                for id in ids {
                    if let Some((slot, _)) = self.node_by_id(&id) {
                        self.nodes[slot].trust_committed = true;
                    }
                }
            }
            Effect::Retire(id) => {
                // The primary records retired_committed; a retiring primary then steps down
                // and hands over (the write commits under the next primary).
                self.waiting_writes
                    .push_back(Effect::RetiredCommitted(id.clone()));
                self.flush_waiting_writes(now);
                if self.primary.as_deref() == Some(id.as_str()) {
                    self.log
                        .push(format!("primary {} retired: handing over", short_id(&id)));
                    self.start_election(now);
                }
            }
            Effect::RetiredCommitted(id) => {
                if let Some(row) = self.table.get_mut(&id) {
                    row.retired_committed_seqno = Some(seqno);
                    self.event(now, "node_removable", id);
                }
            }
        }
    }

    fn flush_waiting_writes(&mut self, now: Instant) {
        if self.primary.is_none() {
            return;
        }
        while let Some(effect) = self.waiting_writes.pop_front() {
            if let Effect::RetiredCommitted(id) = &effect
                && let Some(row) = self.table.get_mut(id)
            {
                row.retired_committed = true;
            }
            let (_, seqno) = self.append(vec![effect.clone()], now);
            if let Effect::RetiredCommitted(id) = &effect
                && let Some(row) = self.table.get_mut(id)
            {
                row.last_written = seqno;
            }
        }
    }

    /// Start an election now (the primary is gone, retired, or a fault forces one).
    pub fn start_election(&mut self, now: Instant) {
        self.primary = None;
        let factor = if self.faults.election_factor > 0.0 {
            self.faults.election_factor
        } else {
            1.0
        };
        let d = self.latency.election(&mut self.rng).mul_f64(factor);
        self.election_ends = Some(now + d);
    }

    fn try_finish_election(&mut self, now: Instant) {
        let Some(ends) = self.election_ends else {
            self.start_election(now);
            return;
        };
        if now < ends {
            return;
        }
        let candidates: Vec<String> = self
            .table
            .iter()
            .filter(|(id, row)| row.status == Status::Trusted && self.live(id))
            .map(|(id, _)| id.clone())
            .collect();
        if candidates.is_empty() || !self.quorum() {
            // No majority can elect anyone: keep trying.
            self.election_ends = Some(now + self.latency.election(&mut self.rng));
            return;
        }
        let winner = candidates[self.rng.below(candidates.len())].clone();
        self.view += 1;
        self.primary = Some(winner.clone());
        self.election_ends = None;
        self.log.push(format!(
            "election: {} is primary in view {}",
            short_id(&winner),
            self.view
        ));
        self.event(now, "election_done", winner);
        // Entries of the old view that reached the new primary survive. A new leader signs at
        // once: raft.h become_leader() sets `should_sign = true`, and history.h emits a
        // signature unconditionally on SHOULD_SIGN, so every view starts with a signature.
        self.append_signature(now);
        self.flush_waiting_writes(now);
    }

    fn check_quorum(&mut self, now: Instant) {
        let lost: Option<String> = self.active_configs().find_map(|c| {
            let reachable = c
                .iter()
                .filter(|id| self.node_by_id(id).is_some_and(|(_, n)| n.reachable()))
                .count();
            (reachable <= c.len() / 2).then(|| {
                format!(
                    "{reachable} of {} nodes of an active configuration are running",
                    c.len()
                )
            })
        });
        match (lost, self.quorum_lost) {
            (Some(detail), false) => {
                self.quorum_lost = true;
                self.violation(now, "quorum_lost", detail);
            }
            (None, true) => self.quorum_lost = false,
            _ => {}
        }
    }

    /// One reconfiguration per transaction: the new trusted set, active from the transaction
    /// about to be appended (raft.h `add_configuration`).
    pub(super) fn add_configuration(&mut self) {
        let config: BTreeSet<String> = self
            .table
            .iter()
            .filter(|(_, r)| r.status == Status::Trusted)
            .map(|(id, _)| id.clone())
            .collect();
        let seqno = self.last_seqno() + 1;
        self.configs.push((seqno, config));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::GENESIS_VIEW;
    use super::super::test_world::{run, world};

    #[test]
    fn commits_wait_for_latency_and_quorum() {
        let (mut w, t0) = world(3);
        let (v, s) = w.append(Vec::new(), t0);
        assert_eq!(w.tx_status(v, s), "Pending");
        w.tick(t0 + Duration::from_millis(30));
        assert_eq!(w.tx_status(v, s), "Pending");
        w.tick(t0 + Duration::from_millis(70));
        assert_eq!(w.tx_status(v, s), "Committed");
        assert_eq!(w.tx_status(v - 1, s), "Invalid");
        // Two of three down: writes are accepted but never commit.
        w.stop(1, false, t0);
        w.stop(2, false, t0);
        let (v, s) = w.append(Vec::new(), t0 + Duration::from_millis(70));
        run(&mut w, t0 + Duration::from_millis(70), 1000);
        assert_eq!(w.tx_status(v, s), "Pending");
    }

    #[test]
    fn killing_the_primary_elects_another_in_a_higher_view() {
        let (mut w, t0) = world(3);
        let old = w.primary.clone().unwrap();
        let slot = w.node_by_id(&old).unwrap().0;
        w.stop(slot, false, t0);
        w.tick(t0);
        assert!(w.primary.is_none());
        assert!(w.require_primary().is_err());
        run(&mut w, t0, 1500);
        let new = w.primary.clone().unwrap();
        assert_ne!(new, old);
        assert_eq!(w.view, GENESIS_VIEW + 1);
    }
}
