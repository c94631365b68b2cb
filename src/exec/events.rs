//! What the engine reports. The engine never prints: it emits these past-tense events to a
//! [`Reporter`]; the human and JSON reporters (in `output`) render them.

use std::time::Duration;

use serde::Serialize;

use crate::plan::{PlannedStep, TargetRef};

/// Something that happened during a run.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Event {
    /// A run began.
    RunStarted {
        /// Run id.
        run_id: String,
        /// The target (for a rollback, the version gone back to).
        target: TargetRef,
        /// The plan at the start.
        steps: Vec<PlannedStep>,
        /// A rollback run (`target` is the version gone back to).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        rollback: bool,
        /// What the service ran when an upgrade started (its old nodes' build and the version
        /// most of them report): journaled, so a rollback after every old node is gone still
        /// knows the version it goes back to.
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<TargetRef>,
    },
    /// A preflight check passed or failed.
    PreflightChecked {
        /// Check name.
        check: String,
        /// Passed.
        ok: bool,
        /// Details.
        detail: String,
    },
    /// A step began.
    StepStarted {
        /// 1-based position in this run.
        index: usize,
        /// Description.
        description: String,
        /// Fault tolerance after it.
        f_after: usize,
    },
    /// Waiting for a condition.
    Waiting {
        /// What.
        what: String,
    },
    /// A governance proposal is about to be submitted (journaled first, so a crash cannot
    /// leave one the journal does not know of).
    ProposalStarting {
        /// Action names.
        actions: Vec<String>,
    },
    /// A governance proposal was created.
    ProposalSubmitted {
        /// Proposal id.
        proposal_id: String,
        /// Action names.
        actions: Vec<String>,
    },
    /// A proposal was accepted and its transaction committed.
    ProposalCommitted {
        /// Proposal id.
        proposal_id: String,
    },
    /// Waiting for members other than the configured ones.
    WaitingForMembers {
        /// Proposal id.
        proposal_id: String,
        /// Yes votes needed (a strict majority of the Active members).
        needed: usize,
        /// Yes votes this run's members cast on it (`needed - votes_cast` more are needed).
        votes_cast: usize,
    },
    /// The fresh snapshot the run's launches start from is committed (or, where the service
    /// does not list snapshots, the seqno it is at or after).
    SnapshotReady {
        /// File name, when listed.
        name: Option<String>,
        /// Its seqno (without a name: the seqno it is at or after).
        seqno: u64,
    },
    /// A launch command is about to run (journaled first, so a crash cannot lose the node).
    LaunchStarted {
        /// The name given to the node.
        name: String,
    },
    /// The launcher started a node.
    NodeLaunched {
        /// The name its launch was given.
        name: String,
        /// Node id, if reported.
        node_id: Option<String>,
        /// RPC address, if reported.
        rpc_address: Option<String>,
    },
    /// A launched node appeared Pending.
    NodePending {
        /// Node id.
        node_id: String,
    },
    /// A node is trusted and serving.
    NodeServing {
        /// Node id.
        node_id: String,
        /// Its `ccf_version`.
        ccf_version: String,
    },
    /// A new primary was elected.
    ElectionObserved {
        /// The previous primary's node id (`primary` is a boolean wherever else it appears).
        #[serde(rename = "previous_primary_id")]
        previous: String,
        /// The new primary's node id.
        #[serde(rename = "primary_id")]
        primary: String,
        /// The new view.
        view: u64,
    },
    /// A node was stopped and deleted from the service.
    NodeRemoved {
        /// Node id.
        node_id: String,
    },
    /// A step finished.
    StepFinished {
        /// 1-based position.
        index: usize,
        /// Description.
        description: String,
        /// How long it took (seconds, to the millisecond).
        #[serde(rename = "elapsed_s", serialize_with = "secs")]
        elapsed: Duration,
    },
    /// A hook command ran and succeeded.
    HookRan {
        /// Hook name (`after_launch`, ...).
        hook: String,
    },
    /// The target is given up: the service goes back to the previous version.
    RollbackStarted {
        /// The rollback run's id.
        run_id: String,
        /// The abandoned target.
        from: TargetRef,
        /// The version gone back to.
        to: TargetRef,
        /// `clean` (no old node retired yet: the new nodes are removed) or `roll_forward`
        /// (nodes of the previous build replace the old nodes already retired).
        kind: String,
        /// Why.
        reason: String,
    },
    /// Something noticed and left alone, or worth knowing.
    Warning {
        /// Message.
        message: String,
    },
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Receives events. Implementations must not block for long.
pub(crate) trait Reporter: Send + Sync {
    /// One event.
    fn report(&self, event: &Event);
}

/// Discards events (tests, `plan`).
pub(crate) struct NullReporter;

impl Reporter for NullReporter {
    fn report(&self, _: &Event) {}
}
