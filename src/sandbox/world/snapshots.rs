//! Snapshots, as joiners need them:
//!
//! * `trigger_snapshot` (`actions.js`: `ccf.node.triggerSnapshot()`) flags its transaction
//!   `SNAPSHOT_AT_NEXT_SIGNATURE` (CCF `src/node/node_state.h`, `trigger_snapshot`): the
//!   primary snapshots at the next signature, records the snapshot's evidence in a later
//!   transaction, and the file is `snapshot_<seqno>_<evidence_seqno>.committed` once that
//!   commits (`src/snapshots/filenames.h`; uncommitted ones are never served);
//! * `GET /node/snapshot?since=S` finds the latest committed one at or after `S`
//!   (`src/node/rpc/file_serving_handlers.h`, `find_snapshot`);
//! * a joiner whose startup seqno (that of the snapshot it started from, 0 without one) is
//!   older than the startup seqno of the node handling its join is refused with
//!   `StartupSeqnoIsOld` (`src/node/rpc/node_frontend.h`, `/join`: `this_startup_seqno >
//!   in.startup_seqno`, 400), before its attestation is looked at, and shuts down: CCF 6.x and
//!   7.0 `src/node/node_state.h` treat any 4xx answer to the join as fatal ("Shutting down
//!   node gracefully"; `tests/reconfiguration.py` asserts `has_stopped`; a 5.x joiner
//!   retries: `nodes.rs`, `refuse`). Only the newest CCF
//!   fetches a more recent snapshot and retries (with `fetch_recent_snapshot`).

use super::World;

/// A snapshot the primary wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSnapshot {
    /// The seqno of the state it holds.
    pub seqno: u64,
    /// The transaction recording its evidence: committed once this commits.
    pub evidence_seqno: u64,
    /// The node whose snapshots directory holds it: the primary that wrote it (only the
    /// primary writes snapshots); `None` for the one every node started from.
    pub by: Option<String>,
}

impl SimSnapshot {
    /// `snapshot_<seqno>_<evidence_seqno>.committed`.
    pub fn committed_name(&self) -> String {
        format!("snapshot_{}_{}.committed", self.seqno, self.evidence_seqno)
    }
}

impl World {
    /// The service's nodes started from a snapshot at `seqno` (they joined from one, or the
    /// service was recovered from one): the ledger is that long and the snapshot is listed.
    pub fn start_from_snapshot(&mut self, seqno: u64) {
        if seqno == 0 {
            return;
        }
        while self.last_seqno() < seqno + 1 {
            self.views.push(self.view);
        }
        self.commit_seqno = seqno + 1;
        for n in &mut self.nodes {
            n.startup_seqno = seqno;
        }
        self.snapshots.push(SimSnapshot {
            seqno,
            evidence_seqno: seqno + 1,
            by: None,
        });
    }

    /// At a signature at `seqno`: take the snapshot `trigger_snapshot` asked for (its evidence
    /// is the next transaction).
    pub(super) fn snapshot_at_signature(&mut self, seqno: u64, now: std::time::Instant) {
        if !std::mem::take(&mut self.snapshot_at_next_signature) || self.faults.no_snapshots {
            return;
        }
        let (_, evidence_seqno) = self.append(Vec::new(), now);
        self.snapshots.push(SimSnapshot {
            seqno,
            evidence_seqno,
            by: self.primary.clone(),
        });
    }

    /// The latest committed snapshot at or after `since`.
    pub fn latest_committed_snapshot(&self, since: u64) -> Option<&SimSnapshot> {
        self.snapshots
            .iter()
            .filter(|s| s.evidence_seqno <= self.commit_seqno && s.seqno >= since)
            .max_by_key(|s| s.seqno)
    }

    /// CCF 6.x (`node_frontend.h`): the latest committed snapshot strictly after `since` in the
    /// snapshots directory of the node in `slot` (each node serves only its own).
    pub fn own_committed_snapshot(&self, slot: usize, since: u64) -> Option<&SimSnapshot> {
        let me = &self.nodes[slot].node_id;
        self.snapshots
            .iter()
            .filter(|s| s.evidence_seqno <= self.commit_seqno && s.seqno > since)
            .filter(|s| s.by.as_ref().is_none_or(|b| b == me))
            .max_by_key(|s| s.seqno)
    }

    /// The committed snapshot with this file name.
    pub fn committed_snapshot(&self, name: &str) -> Option<&SimSnapshot> {
        self.snapshots
            .iter()
            .find(|s| s.evidence_seqno <= self.commit_seqno && s.committed_name() == name)
    }

    /// `StartupSeqnoIsOld` for the joiner in `slot`, as the primary answers it.
    pub(super) fn startup_seqno_refusal(&self, slot: usize) -> Option<String> {
        let primary = self.primary.as_deref()?;
        let this = self.node_by_id(primary)?.1.startup_seqno;
        let joiner = self.nodes[slot].startup_seqno;
        (this > joiner).then(|| {
            format!(
                "StartupSeqnoIsOld: Node requested to join from seqno {joiner} which is older than this node startup seqno {this}. A snapshot at least as recent as {this} must be used instead."
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_world::{run, world};

    #[test]
    fn a_triggered_snapshot_is_listed_once_its_evidence_commits() {
        let (mut w, now) = world(3);
        let (_, flagged) = w.append(Vec::new(), now);
        w.snapshot_at_next_signature = true;
        assert_eq!(w.latest_committed_snapshot(flagged), None);
        run(&mut w, now, 10_000);
        let s = w.latest_committed_snapshot(flagged).expect("committed");
        assert!(
            s.seqno > flagged,
            "taken at the signature after the flagged tx"
        );
        assert!(w.committed_snapshot(&s.committed_name()).is_some());
        assert_eq!(w.latest_committed_snapshot(s.seqno + 1), None);
    }

    #[test]
    fn a_joiner_older_than_the_primarys_start_is_refused() {
        let (mut w, now) = world(3);
        w.start_from_snapshot(40);
        let b = w.nodes[0].build.clone();
        let old = w.launch("a".repeat(64), 1, b.clone(), now);
        let fresh = w.launch("b".repeat(64), 2, b, now);
        w.nodes[old].startup_seqno = 39;
        w.nodes[fresh].startup_seqno = 40;
        let why = w.startup_seqno_refusal(old).expect("refused");
        assert!(why.starts_with("StartupSeqnoIsOld"), "{why}");
        assert_eq!(w.startup_seqno_refusal(fresh), None);
    }

    #[test]
    fn a_refused_joiner_shuts_down_and_the_fresh_one_joins() {
        let (mut w, now) = world(3);
        w.start_from_snapshot(40);
        let b = w.nodes[0].build.clone();
        let old = w.launch("a".repeat(64), 1, b.clone(), now);
        let fresh = w.launch("b".repeat(64), 2, b, now);
        w.nodes[fresh].startup_seqno = 40;
        run(&mut w, now, 10_000);
        assert!(!w.nodes[old].running, "CCF shuts a refused joiner down");
        assert!(
            matches!(&w.nodes[old].lifecycle, super::super::Lifecycle::Refused { reason } if reason.starts_with("StartupSeqnoIsOld"))
        );
        assert!(!w.table.contains_key(&"a".repeat(64)));
        assert!(w.table.contains_key(&"b".repeat(64)));
    }
}
