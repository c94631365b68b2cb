//! The records a journal holds, one JSON object a line.

use serde::{Deserialize, Serialize};

use crate::plan::Launched;

/// One journal record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "record", rename_all = "snake_case")]
pub(crate) enum Record {
    /// A run began (after preflight).
    RunStarted {
        /// Format version.
        format_version: u32,
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// Target, described.
        target: String,
        /// SHA-256 of the plan file.
        plan_sha256: String,
        /// A rollback's run (its target is the version gone back to).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rollback: bool,
    },
    /// The run's target is a channel release (`noderoll channel apply`, `noderoll watch`):
    /// the whole release, so a restart resumes that release even if the channel moved on.
    ReleaseChosen {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// The release as the channel published it (no secrets: identities and a URL).
        release: crate::channel::Release,
    },
    /// A launch command is about to run.
    LaunchStarted {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// The node's name.
        name: String,
    },
    /// A node was launched.
    NodeLaunched {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// What the launcher reported.
        node: Launched,
        /// The name its launch was given (`NODEROLL_NODE_NAME`; absent in older journals).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A proposal is about to be submitted.
    ProposalStarting {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// Its action names.
        actions: Vec<String>,
    },
    /// A proposal was submitted.
    ProposalSubmitted {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// Proposal id.
        proposal_id: String,
    },
    /// A step finished.
    StepFinished {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// Position.
        index: usize,
        /// Description.
        description: String,
    },
    /// The run gave up its target and began rolling back.
    RollbackStarted {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// The abandoned target, described.
        from: String,
        /// The version rolled back to, described.
        to: String,
        /// Why.
        reason: String,
    },
    /// A target failed (a new node did not join, attest, catch up or stay healthy) and was
    /// rolled back: later runs refuse it unless `--retry-failed-target`.
    TargetFailed {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// [`crate::plan::Target::key`].
        key: String,
        /// The target, described.
        target: String,
        /// The failure, rendered.
        reason: String,
    },
    /// An operator cleared every failed-target mark (`noderoll channel clear-failed`).
    FailedCleared {
        /// RFC 3339.
        at: String,
    },
    /// The run ended.
    RunEnded {
        /// Run id.
        run_id: String,
        /// RFC 3339.
        at: String,
        /// `upgraded`, `finalize_pending`, `nothing_to_do`, `rolled_back`, `failed`,
        /// `interrupted`.
        outcome: String,
    },
}
