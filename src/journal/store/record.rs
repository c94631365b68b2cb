//! The records a journal holds, one JSON object a line.

use serde::{Deserialize, Serialize};

use crate::plan::{Launched, TargetRef};

/// A target as a record names it: whole since journal format 2; a journal written before
/// holds only its description (`virtual d6a0a114… (ccf-7.0.2)`), which is still read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub(crate) enum RecordedTarget {
    /// The target's fields.
    Target(TargetRef),
    /// A description, from a journal written before format 2.
    Described(String),
}

impl RecordedTarget {
    /// For people.
    pub(crate) fn describe(&self) -> String {
        match self {
            RecordedTarget::Target(t) => t.describe(),
            RecordedTarget::Described(d) => d.clone(),
        }
    }

    /// Whether this names `t` (a description: by `t`'s description).
    pub(crate) fn is(&self, t: &TargetRef) -> bool {
        match self {
            RecordedTarget::Target(r) => r.same(t),
            RecordedTarget::Described(d) => *d == t.describe(),
        }
    }

    /// Whether both name the same target.
    pub(crate) fn same(&self, other: &RecordedTarget) -> bool {
        match other {
            RecordedTarget::Target(t) => self.is(t),
            RecordedTarget::Described(d) => self.describe() == *d,
        }
    }
}

/// A description, as tests write format 1's records.
#[cfg(test)]
impl From<&str> for RecordedTarget {
    fn from(d: &str) -> Self {
        RecordedTarget::Described(d.into())
    }
}

impl From<TargetRef> for RecordedTarget {
    fn from(t: TargetRef) -> Self {
        RecordedTarget::Target(t)
    }
}

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
        /// The target.
        target: RecordedTarget,
        /// SHA-256 of the plan file.
        plan_sha256: String,
        /// A rollback's run (its target is the version gone back to).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rollback: bool,
        /// An upgrade's run: what the service ran when it started (see `Event::RunStarted`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<RecordedTarget>,
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
        /// The abandoned target.
        from: RecordedTarget,
        /// The version rolled back to.
        to: RecordedTarget,
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
        /// The target.
        target: RecordedTarget,
        /// The failure, rendered.
        reason: String,
    },
    /// Failed-target marks were cleared: one target's, reached by a run with
    /// `--retry-failed-target`; or every one (`noderoll channel clear-failed`, and every
    /// record written before the target was recorded).
    FailedCleared {
        /// RFC 3339.
        at: String,
        /// The target whose mark was cleared; `None`: every target's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<RecordedTarget>,
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
