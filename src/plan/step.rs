//! The steps of an upgrade (what the planner emits and the engine runs) and how they read.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::view::Launched;
use crate::ccf::NodeAddr;
use crate::ccf::types::{Action, short_id};
use crate::english::count as count_of;

/// A step of the upgrade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Register the target code version.
    RegisterCode {
        /// The "add" actions.
        actions: Vec<Action>,
    },
    /// Make a committed snapshot (the `trigger_snapshot` proposal) for the run's launches to
    /// start from, so none is refused as older than the primary's start (`[nodes]
    /// fresh_snapshot`).
    FreshSnapshot,
    /// Launch new nodes and wait until each is Pending.
    LaunchNodes {
        /// How many.
        count: usize,
    },
    /// Trust new nodes in one proposal and wait until they serve.
    TrustNodes {
        /// Pending nodes known now (more may come from launches planned before this step).
        node_ids: Vec<String>,
        /// How many will be trusted.
        count: usize,
    },
    /// Watch every node stay healthy for a while.
    Soak {
        /// How long (milliseconds in JSON; a plan saved before the unit was named has
        /// `duration`).
        #[serde(rename = "duration_ms", alias = "duration", with = "duration_ms")]
        duration: Duration,
    },
    /// Retire one old node; stop and delete it once removable.
    RetireNode {
        /// Node id.
        node_id: String,
        /// Its address.
        address: Option<NodeAddr>,
        /// It is the primary (an election follows).
        primary: bool,
    },
    /// A node already retired: stop and delete it once removable.
    RemoveRetired {
        /// Node id.
        node_id: String,
        /// Its address.
        address: Option<NodeAddr>,
    },
    /// Remove the old code version (the point of no return).
    Finalize {
        /// The "remove" actions.
        actions: Vec<Action>,
    },
    /// Rollback: stop a Pending node of the abandoned upgrade, then `remove_node` it.
    RemovePending {
        /// Node id.
        node_id: String,
        /// Its address.
        address: Option<NodeAddr>,
    },
    /// Rollback: stop a node the abandoned upgrade launched that never joined.
    StopLaunched {
        /// What the launcher reported.
        node: Launched,
    },
    /// Rollback: deregister the abandoned code version.
    RemoveAbandonedCode {
        /// The "remove" actions.
        actions: Vec<Action>,
    },
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

impl Step {
    /// A one-line description (of an upgrade's step).
    pub fn describe(&self) -> String {
        self.describe_for(false)
    }

    /// A one-line description; in a rollback (`rollback`) the nodes retired are those of
    /// the upgrade given up, not the old ones.
    pub fn describe_for(&self, rollback: bool) -> String {
        if rollback && let Some(d) = self.describe_rollback() {
            return d;
        }
        match self {
            Step::RegisterCode { actions } => {
                format!("register the new code version ({})", names(actions))
            }
            Step::FreshSnapshot => {
                "make a fresh committed snapshot for the new nodes to join from (trigger_snapshot)"
                    .into()
            }
            Step::LaunchNodes { count } => format!("launch {}", count_of(*count, "new node")),
            Step::TrustNodes { count, .. } => {
                format!("trust {} in one proposal", count_of(*count, "new node"))
            }
            Step::Soak { duration } => format!(
                "soak for {}s: new nodes ready, agreeing on primary and view, caught up",
                duration.as_secs_f64()
            ),
            Step::RetireNode {
                node_id, primary, ..
            } => format!(
                "retire old node {}{}, then stop and delete it",
                short_id(node_id),
                primary_note(*primary)
            ),
            Step::RemoveRetired { node_id, .. } => {
                format!("stop and delete retired node {}", short_id(node_id))
            }
            Step::Finalize { actions } => format!(
                "remove the old code version ({})",
                count_of(actions.len(), "action")
            ),
            Step::RemovePending { node_id, .. } => {
                format!("stop Pending node {} and remove it", short_id(node_id))
            }
            Step::StopLaunched { node } => format!(
                "stop node {} (launched, never joined)",
                node.node_id
                    .as_deref()
                    .map(|id| short_id(id).to_string())
                    .or_else(|| node.rpc_address.as_ref().map(ToString::to_string))
                    .unwrap_or_default()
            ),
            Step::RemoveAbandonedCode { actions } => {
                format!("remove the abandoned code version ({})", names(actions))
            }
        }
    }

    /// A rollback's own words for the steps an upgrade words otherwise: the nodes it
    /// launches, trusts and soaks are the previous version's, the nodes it retires the
    /// abandoned upgrade's.
    fn describe_rollback(&self) -> Option<String> {
        Some(match self {
            Step::RegisterCode { actions } => {
                format!(
                    "register the previous code version again ({})",
                    names(actions)
                )
            }
            Step::FreshSnapshot => {
                "make a fresh committed snapshot for the previous version's nodes to join from (trigger_snapshot)"
                    .into()
            }
            Step::LaunchNodes { count } => {
                format!(
                    "launch {} of the previous version",
                    count_of(*count, "node")
                )
            }
            Step::TrustNodes { count, .. } => format!(
                "trust {} of the previous version in one proposal",
                count_of(*count, "node")
            ),
            Step::Soak { duration } => format!(
                "soak for {}s: the previous version's nodes ready, agreeing on primary and view, caught up",
                duration.as_secs_f64()
            ),
            Step::RetireNode {
                node_id, primary, ..
            } => format!(
                "retire the abandoned upgrade's node {}{}, then stop and delete it",
                short_id(node_id),
                primary_note(*primary)
            ),
            _ => return None,
        })
    }

    /// The nodes this step touches (ids, or a description).
    pub fn touches(&self) -> String {
        match self {
            Step::RegisterCode { .. }
            | Step::FreshSnapshot
            | Step::Finalize { .. }
            | Step::Soak { .. }
            | Step::RemoveAbandonedCode { .. } => "-".into(),
            Step::LaunchNodes { count } => format!("{count} to launch"),
            Step::TrustNodes { node_ids, count } if node_ids.len() == *count => node_ids
                .iter()
                .map(|i| short_id(i))
                .collect::<Vec<_>>()
                .join(", "),
            Step::TrustNodes { count, .. } => format!("the {count} launched"),
            Step::RetireNode { node_id, .. }
            | Step::RemoveRetired { node_id, .. }
            | Step::RemovePending { node_id, .. } => short_id(node_id).into(),
            Step::StopLaunched { node } => node
                .node_id
                .as_deref()
                .map(|i| short_id(i).to_string())
                .or_else(|| node.rpc_address.as_ref().map(ToString::to_string))
                .unwrap_or_default(),
        }
    }

    /// True for steps that change the service.
    pub fn writes(&self) -> bool {
        !matches!(self, Step::Soak { .. })
    }
}

/// Action names, comma-separated.
fn names(actions: &[Action]) -> String {
    actions
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a retirement of the primary adds to its description.
fn primary_note(primary: bool) -> &'static str {
    if primary {
        " (the primary: election)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON names the soak's unit; a plan saved before it was named still loads.
    #[test]
    fn a_soak_is_in_milliseconds_and_reads_the_old_name() {
        let soak = Step::Soak {
            duration: Duration::from_millis(1500),
        };
        let json = serde_json::to_value(&soak).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "soak", "duration_ms": 1500})
        );
        let old: Step = serde_json::from_str(r#"{"kind":"soak","duration":1500}"#).unwrap();
        assert_eq!(old, soak);
    }
}
