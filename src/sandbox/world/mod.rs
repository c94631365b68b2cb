//! The simulated service: one ledger, consensus (views, primary, elections, commits that need a
//! live majority in every active configuration), the node table, node lifecycles (join,
//! pending, catch-up, retirement, removal) and governance (proposals, ballots, the COSE replay
//! window, default-constitution semantics).
//!
//! Pure state: time is passed in, nothing here does I/O, so it is unit-tested without servers.
//! The HTTP layer authenticates requests and renders JSON; the runtime calls [`World::tick`].
//!
//! This file holds the shared state ([`World`]) and what every part records (violations,
//! events, faults, errors); each concern of the CCF model is a file of its own: `attestation`
//! (builds and the join policy), `nodes` (node lifecycle), `consensus`, `governance`
//! (proposals and ballots) and `actions` (the constitution's `apply()`).

mod actions;
mod attestation;
mod consensus;
mod governance;
mod nodes;
mod snapshots;
#[cfg(test)]
mod test_world;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use actions::MAX_NODE_CERT_VALIDITY_DAYS;
pub use attestation::{Build, JoinPolicy, Platform, Refusal, UvmEndorsement, VIRTUAL_MEASUREMENT};
use consensus::{Effect, Tx, WriteStallAcc};
pub use consensus::{GENESIS_VIEW, WriteStall};
pub use governance::{MemberRec, PState, ProposalRec, RECENT_PROPOSALS_WINDOW};
pub use nodes::{Lifecycle, NodeRow, SimNode, Status};
pub use snapshots::SimSnapshot;

use super::constitution;
use super::latency::{LatencyModel, Rng};

/// A transaction id as `(view, seqno)`.
pub type TxRef = (u64, u64);

/// An error answer: status, CCF error code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// CCF error code.
    pub code: &'static str,
    /// Message.
    pub message: String,
}

impl ApiError {
    /// Build one.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// CCF's answer for an unknown (or purged) proposal.
    pub fn proposal_not_found(id: &str) -> Self {
        ApiError::new(
            404,
            "ProposalNotFound",
            format!("Could not find proposal {id}."),
        )
    }
}

/// Something the orchestrator must never cause.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Violation {
    /// Milliseconds since the sandbox started.
    pub at_ms: u64,
    /// `stopped_in_active_config`, `quorum_lost`, `trusted_unregistered_build`,
    /// `delete_before_retired_committed`, `commit_without_quorum`.
    pub kind: String,
    /// Details.
    pub detail: String,
}

/// A state change, timestamped (the benchmark measures reactions to these).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimEvent {
    /// Milliseconds since the sandbox started.
    pub at_ms: f64,
    /// `node_pending`, `tx_committed`, `election_done`, `node_removable`, `node_caught_up`.
    pub kind: String,
    /// Node id, transaction id, ...
    pub subject: String,
}

/// Injected faults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Faults {
    /// Answer the next N requests with 503.
    pub fail_next: u32,
    /// Answer this fraction of requests with 503.
    pub fail_fraction: f64,
    /// Extra latency per request, in milliseconds.
    pub latency_ms: u64,
    /// The next launched node never completes its join.
    pub never_join_next: bool,
    /// Multiply election time by this (0 = 1).
    pub election_factor: f64,
    /// The next launched node joins and can be trusted but never reports ready.
    #[serde(default)]
    pub never_ready_next: bool,
    /// The next accepted proposal fails in `apply()` (500, nothing kept).
    #[serde(default)]
    pub fail_apply_next: bool,
    /// Tear down the connection of the next N requests before they are processed.
    #[serde(default)]
    pub reset_next: u32,
    /// The primary writes no snapshots (e.g. its snapshots directory is not writable).
    #[serde(default)]
    pub no_snapshots: bool,
    /// No interface enables the `SnapshotRead` operator feature: `/node/snapshot*` answer a
    /// bodiless 404 (CCF `frontend.h`, `check_uri_allowed`).
    #[serde(default)]
    pub snapshot_read_off: bool,
    /// `/node/snapshot` as CCF 6.x serves it (`src/node/rpc/node_frontend.h`): not gated by
    /// `SnapshotRead`, no backup → primary redirect, each node finds only the snapshots in
    /// its own directory, strictly after `since`, and redirects with a relative `Location`.
    #[serde(default)]
    pub snapshots_6x: bool,
}

/// The whole simulated service.
#[derive(Debug)]
pub struct World {
    start: Instant,
    rng: Rng,
    latency: LatencyModel,
    /// Node processes by slot.
    pub nodes: Vec<SimNode>,
    /// The node table.
    pub table: BTreeMap<String, NodeRow>,
    /// Members.
    pub members: Vec<MemberRec>,
    /// Proposals (completed ones are purged as CCF does).
    pub proposals: BTreeMap<String, ProposalRec>,
    recent: BTreeMap<String, String>,
    /// Registered code versions.
    pub join_policy: JoinPolicy,
    /// Constitution text.
    pub constitution: String,
    /// The JS application bundle (`set_js_app`).
    pub js_app: Value,
    /// Current view.
    pub view: u64,
    /// Current primary.
    pub primary: Option<String>,
    election_ends: Option<Instant>,
    views: Vec<u64>,
    pending: VecDeque<Tx>,
    /// Highest committed seqno.
    pub commit_seqno: u64,
    configs: Vec<(u64, BTreeSet<String>)>,
    waiting_writes: VecDeque<Effect>,
    quorum_lost: bool,
    next_signature: Instant,
    /// Transactions appended since the last signature (CCF `committable_gap() > 0`).
    unsigned: bool,
    /// Service recoveries (`recovery_count`): 1 when started as a recovered service.
    pub recovery_count: u64,
    last_tick: Option<Instant>,
    stalled: bool,
    stall: WriteStallAcc,
    /// Invariant violations.
    pub violations: Vec<Violation>,
    /// State changes.
    pub events: Vec<SimEvent>,
    /// Injected faults.
    pub faults: Faults,
    /// Log lines (join refusals, elections) for the runtime to print.
    pub log: Vec<String>,
    /// Requests served, total.
    pub requests: u64,
    /// Write requests served.
    pub write_requests: u64,
    /// Every request received, when enabled (the benchmark measures reactions with it).
    pub request_log: Option<Vec<RequestRecord>>,
    /// The body of every proposal created (tests count duplicates).
    pub created_proposals: Vec<Vec<u8>>,
    /// Endorsed certificates trust proposals asked for and not yet issued: (slot, valid
    /// from, days).
    pub endorsements: Vec<(usize, std::time::SystemTime, u64)>,
    /// Snapshots the primary wrote (committed once their evidence commits).
    pub snapshots: Vec<SimSnapshot>,
    /// `trigger_snapshot` was applied: snapshot at the next signature.
    snapshot_at_next_signature: bool,
}

/// One request the service received.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestRecord {
    /// Milliseconds since the sandbox started.
    pub at_ms: f64,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
}

impl World {
    /// A service opened by `genesis` nodes (`(node_id, port)`), all trusted, the first one
    /// primary, running `build` (registered in the join policy).
    pub fn new(
        latency: LatencyModel,
        seed: u64,
        now: Instant,
        genesis: &[(String, u16)],
        build: &Build,
        members: Vec<MemberRec>,
    ) -> World {
        let mut jp = JoinPolicy::default();
        jp.allow(build);
        let mut w = World {
            start: now,
            rng: Rng::new(seed),
            latency,
            nodes: Vec::new(),
            table: BTreeMap::new(),
            members,
            proposals: BTreeMap::new(),
            recent: BTreeMap::new(),
            join_policy: jp,
            constitution: constitution::constitution_text(),
            js_app: json!({"metadata": {"endpoints": {}}, "modules": []}),
            view: GENESIS_VIEW,
            primary: None,
            election_ends: None,
            views: vec![0, GENESIS_VIEW],
            pending: VecDeque::new(),
            commit_seqno: 1,
            configs: Vec::new(),
            waiting_writes: VecDeque::new(),
            quorum_lost: false,
            next_signature: now,
            unsigned: false,
            recovery_count: 0,
            last_tick: None,
            stalled: false,
            stall: WriteStallAcc::default(),
            violations: Vec::new(),
            events: Vec::new(),
            faults: Faults::default(),
            log: Vec::new(),
            requests: 0,
            write_requests: 0,
            request_log: None,
            created_proposals: Vec::new(),
            endorsements: Vec::new(),
            snapshots: Vec::new(),
            snapshot_at_next_signature: false,
        };
        for (i, (id, port)) in genesis.iter().enumerate() {
            w.nodes.push(SimNode {
                node_id: id.clone(),
                port: *port,
                build: build.clone(),
                lifecycle: Lifecycle::PartOfNetwork,
                running: true,
                partitioned: false,
                trust_committed: true,
                never_ready: false,
                name: None,
                startup_seqno: 0,
            });
            w.table.insert(
                id.clone(),
                NodeRow {
                    slot: i,
                    status: Status::Trusted,
                    node_data: Value::Null,
                    last_written: 1,
                    retired_committed_seqno: None,
                    retired_committed: false,
                    pre_recovery: false,
                },
            );
        }
        w.configs
            .push((1, genesis.iter().map(|(id, _)| id.clone()).collect()));
        w.primary = genesis.first().map(|(id, _)| id.clone());
        w
    }

    /// Milliseconds since start.
    pub fn ms(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.start).as_secs_f64() * 1000.0
    }

    fn event(&mut self, now: Instant, kind: &str, subject: impl Into<String>) {
        let at_ms = self.ms(now);
        self.events.push(SimEvent {
            at_ms,
            kind: kind.into(),
            subject: subject.into(),
        });
    }

    fn violation(&mut self, now: Instant, kind: &str, detail: String) {
        let at_ms = self.ms(now) as u64;
        self.log
            .push(format!("INVARIANT VIOLATED ({kind}): {detail}"));
        self.violations.push(Violation {
            at_ms,
            kind: kind.into(),
            detail,
        });
    }

    /// The latency model in force.
    pub fn latency(&self) -> &LatencyModel {
        &self.latency
    }

    /// The node process with this id.
    pub fn node_by_id(&self, id: &str) -> Option<(usize, &SimNode)> {
        self.nodes.iter().enumerate().find(|(_, n)| n.node_id == id)
    }

    /// Count a request against the fault plan: `Some(error)` if it must fail.
    pub fn injected_failure(&mut self) -> Option<ApiError> {
        self.requests += 1;
        if self.faults.fail_next > 0 {
            self.faults.fail_next -= 1;
            return Some(ApiError::new(503, "ServiceUnavailable", "injected failure"));
        }
        if self.faults.fail_fraction > 0.0 && self.rng.next_f64() < self.faults.fail_fraction {
            return Some(ApiError::new(503, "ServiceUnavailable", "injected failure"));
        }
        None
    }

    /// Elapsed sandbox time.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.start)
    }
}
