//! Gates: what must hold before a step runs. Each gate's human text (the plan's `gate` column
//! and the `gate` field of `plan --output json` and saved plans) and its check live here, side
//! by side, with the fault-tolerance and majority arithmetic they rest on.
//!
//! Where each gate is checked:
//! * the planner (`planner::plan`) attaches a [`Gate`] to every step and, for the next step,
//!   calls [`Gate::check`]: a failed check becomes the plan's `blocked` reason. Looking ahead,
//!   it calls [`retire_floor`] for every planned retirement;
//! * the engine re-plans before each step, so it runs a step only once its gate holds; while a
//!   retirement or finalize is blocked it re-observes until the check passes (`wait_for_gate`).
//!   Its preflight uses [`floor_reachable`] and [`majority_running`], and its soak the `soak_*`
//!   rules below;
//! * gates without a check ([`Gate::check`] returns `Ok`) hold by construction: the planner
//!   only emits such a step once what its text says is true (the order of the steps, or what
//!   the node table shows).
//!
//! To change a gate: change its text in [`Gate::text`] and its rule in the check function next
//! to it; the planner and the engine pick both up. Saved plans with the old text still load
//! ([`Gate::Saved`]). A `before_retire` hook (`exec::hooks`) can hold a retirement further.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::spec::Target;
use super::step::Step;
use super::view::{NodeView, ServiceView};
use crate::ccf::types::{NodeStatus, short_id};

/// CFT fault tolerance of `n` voting nodes.
pub fn fault_tolerance(n: usize) -> usize {
    n.saturating_sub(1) / 2
}

/// Smallest majority of `n`.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// The most nodes one proposal may trust without stalling commits: with `trusted` voting
/// nodes of which `caught_up` acknowledge, trusting k more needs `caught_up` to stay a
/// majority of `trusted + k` (commit needs a majority of every active configuration, CCF
/// `src/consensus/aft/raft.h`), so k ≤ 2·caught_up − trusted − 1, i.e. k ≤ n − 1 on a healthy
/// service of n. At least 1: a 1-node service cannot add a node any other way.
pub fn trust_batch_limit(trusted: usize, caught_up: usize) -> usize {
    (2 * caught_up).saturating_sub(trusted + 1).max(1)
}

/// The fault tolerance while `k` newly trusted nodes catch up (`None`: writes stall).
pub fn f_during_catch_up(trusted: usize, caught_up: usize, k: usize) -> Option<usize> {
    caught_up.checked_sub(majority(trusted + k))
}

/// What must hold before a step runs. Serialised as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Rollback: a Pending node of the abandoned upgrade is removed.
    AbandonedPending,
    /// Rollback: a node the abandoned upgrade launched that never joined is stopped.
    AbandonedLaunch,
    /// The target code version is registered.
    RegisterCode,
    /// The canary is soaked before the other new nodes are launched.
    CanarySoak,
    /// A fresh snapshot is made before the run's first launch.
    FreshSnapshot,
    /// The first new nodes are launched.
    FirstLaunch,
    /// Later new nodes are launched.
    NextLaunch,
    /// The first new nodes are trusted.
    FirstTrust,
    /// Later new nodes are trusted.
    NextTrust,
    /// Every node is soaked before old nodes are retired.
    Soak,
    /// An old node is retired: see [`retire_floor`] and [`retire_health`].
    RetireNode {
        /// The fault-tolerance floor.
        min_fault_tolerance: usize,
    },
    /// A retired node is stopped and deleted.
    RemoveRetired,
    /// A Pending node this upgrade launched and does not need is removed.
    SurplusPending,
    /// Rollback: the abandoned code version is deregistered.
    RemoveAbandonedCode,
    /// The old code version is removed: see [`attestations_known`].
    Finalize {
        /// `[safety] finalize = "manual"`: only `noderoll finalize` runs it.
        manual: bool,
    },
    /// A gate text this version does not write, read from a saved plan (an older noderoll
    /// worded some gates differently). Shown as saved; never checked, since apply re-plans
    /// and runs only its own steps.
    Saved(String),
}

const RETIRE_PREFIX: &str = "f after ≥ ";
const RETIRE_SUFFIX: &str = ", every new node healthy, a healthy majority left";

/// Every gate whose text takes no number (the retirement's is read apart).
pub(crate) const FIXED: [Gate; 15] = [
    Gate::AbandonedPending,
    Gate::AbandonedLaunch,
    Gate::RegisterCode,
    Gate::CanarySoak,
    Gate::FreshSnapshot,
    Gate::FirstLaunch,
    Gate::NextLaunch,
    Gate::FirstTrust,
    Gate::NextTrust,
    Gate::Soak,
    Gate::RemoveRetired,
    Gate::SurplusPending,
    Gate::RemoveAbandonedCode,
    Gate::Finalize { manual: false },
    Gate::Finalize { manual: true },
];

/// What a gate's check looks at.
#[derive(Debug, Clone, Copy)]
pub struct Scene<'a> {
    /// The service as observed.
    pub view: &'a ServiceView,
    /// The version the run goes to: its trusted nodes are the new ones.
    pub target: &'a Target,
    /// Trusted nodes before the step: as planned by the steps before it (the service's own
    /// count when the step is the next one, see [`Scene::now`]).
    pub trusted: usize,
}

impl<'a> Scene<'a> {
    /// The service as it is, for the step that runs next.
    pub fn now(view: &'a ServiceView, target: &'a Target) -> Scene<'a> {
        let trusted = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted)
            .count();
        Scene {
            view,
            target,
            trusted,
        }
    }
}

impl Gate {
    /// The gate's text, as the plan shows it.
    pub fn text(&self) -> String {
        match self {
            Gate::AbandonedPending => {
                "it attests the abandoned code version (or the abandoned upgrade launched it)"
            }
            Gate::AbandonedLaunch => "launched by the abandoned upgrade and not in the node table",
            Gate::RegisterCode => "no other proposal of this run open",
            Gate::CanarySoak => "the canary trusted and serving",
            Gate::FreshSnapshot => {
                "target code version registered; no snapshot made by this run yet (joiners must start from one at least as recent as the primary's: CCF StartupSeqnoIsOld)"
            }
            Gate::FirstLaunch => "target code version registered",
            Gate::NextLaunch => "the previous new nodes trusted",
            Gate::FirstTrust => {
                "each node launched by this run, Pending, attesting the target (or, where CCF keeps no readable report, admitted by CCF: its quote is checked once it has caught up)"
            }
            Gate::NextTrust => "the nodes trusted before caught up; the launched nodes Pending",
            Gate::Soak => "all new nodes trusted, caught up and serving",
            Gate::RetireNode {
                min_fault_tolerance,
            } => return format!("{RETIRE_PREFIX}{min_fault_tolerance}{RETIRE_SUFFIX}"),
            Gate::RemoveRetired => "listed by removable_nodes",
            Gate::SurplusPending => {
                "launched by this upgrade and not needed (or not attesting the target): stopped, then removed"
            }
            Gate::RemoveAbandonedCode => "no node of the abandoned code version left",
            Gate::Finalize { manual: false } => {
                "no old node left; every node reports the target and shows what it attests"
            }
            Gate::Finalize { manual: true } => {
                "no old node left; [safety] finalize = \"manual\": only `noderoll finalize` runs it"
            }
            Gate::Saved(text) => text,
        }
        .to_string()
    }

    /// The gate's text in a rollback's words ([`in_rollback_words`]; a saved plan keeps
    /// [`Gate::text`]).
    pub fn text_for(&self, rollback: bool) -> String {
        let text = self.text();
        if !rollback {
            return text;
        }
        in_rollback_words(&text)
    }

    /// The gate a text names (saved plans store the text); a text this version does not
    /// write is kept as [`Gate::Saved`].
    pub fn from_text(text: &str) -> Gate {
        Gate::known(text).unwrap_or_else(|| Gate::Saved(text.to_string()))
    }

    /// The gate this version writes with `text`, if any.
    fn known(text: &str) -> Option<Gate> {
        if let Some(f) = text
            .strip_prefix(RETIRE_PREFIX)
            .and_then(|t| t.strip_suffix(RETIRE_SUFFIX))
        {
            return f.parse().ok().map(|min_fault_tolerance| Gate::RetireNode {
                min_fault_tolerance,
            });
        }
        FIXED.into_iter().find(|g| g.text() == text)
    }

    /// Whether the gate holds for `step` (the step it guards) on `scene`; else why not, as
    /// the plan's `blocked` says it.
    pub fn check(&self, step: &Step, scene: &Scene<'_>) -> Result<(), String> {
        match (self, step) {
            (
                Gate::RetireNode {
                    min_fault_tolerance,
                },
                Step::RetireNode { node_id, .. },
            ) => {
                retire_floor(node_id, scene.trusted, *min_fault_tolerance)?;
                retire_health(scene, node_id)
            }
            (Gate::Finalize { .. }, _) => attestations_known(scene.view),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl Serialize for Gate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for Gate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Gate, D::Error> {
        Ok(Gate::from_text(&String::deserialize(d)?))
    }
}

/// A gate's text or a gate's refusal in a rollback's words: the nodes a rollback launches,
/// trusts and keeps are the previous version's, not new ones, and the code version it
/// registers is the previous one.
pub fn in_rollback_words(text: &str) -> String {
    text.replace("the previous new nodes", "the nodes launched before")
        .replace("every new node", "every node of the previous version")
        .replace("all new nodes", "every node of the previous version")
        .replace("more new nodes", "more nodes of the previous version")
        .replace("new nodes", "nodes of the previous version")
        .replace("new node", "node of the previous version")
        .replace("target code version", "previous code version")
        .replace("attesting the target", "attesting the previous version")
        .replace("this upgrade", "this rollback")
}

/// Retirement, the floor: retiring `node_id` out of `trusted` nodes leaves f at least
/// `min_fault_tolerance`.
pub fn retire_floor(
    node_id: &str,
    trusted: usize,
    min_fault_tolerance: usize,
) -> Result<(), String> {
    let after = trusted - 1;
    if fault_tolerance(after) < min_fault_tolerance {
        return Err(format!(
            "retiring {} would leave f = {} below the minimum {} (with {after} trusted nodes); \
             launch more new nodes ([nodes] count) or lower [safety] min_fault_tolerance",
            short_id(node_id),
            fault_tolerance(after),
            min_fault_tolerance
        ));
    }
    Ok(())
}

/// Retirement, health: every new node (trusted, attesting the target) is healthy (reachable
/// and ready), and the healthy trusted nodes other than `node_id` are a majority of the
/// `scene.trusted - 1` left.
pub fn retire_health(scene: &Scene<'_>, node_id: &str) -> Result<(), String> {
    let after = scene.trusted - 1;
    let healthy = |m: &NodeView| m.reachable && m.ready;
    let unhealthy: Vec<&str> = scene
        .view
        .nodes
        .iter()
        .filter(|m| m.status == NodeStatus::Trusted)
        .filter(|m| m.claims.as_ref().is_some_and(|c| scene.target.matches(c)))
        .filter(|m| !healthy(m))
        .map(|m| short_id(&m.node_id))
        .collect();
    let healthy_after = scene
        .view
        .nodes
        .iter()
        .filter(|m| m.status == NodeStatus::Trusted && m.node_id != node_id && healthy(m))
        .count();
    if !unhealthy.is_empty() {
        Err(format!(
            "new {} {} {} not healthy (not serving governance)",
            crate::english::noun_for(unhealthy.len(), "node"),
            unhealthy.join(", "),
            if unhealthy.len() == 1 { "is" } else { "are" }
        ))
    } else if healthy_after < majority(after) {
        Err(format!(
            "only {} would remain, fewer than a majority of {after}",
            crate::english::count(healthy_after, "healthy node")
        ))
    } else {
        Ok(())
    }
}

/// Finalize: every trusted node shows what it attests (an unknown one may be an old node that
/// removing the old version would lock out of rejoining, or strand).
pub fn attestations_known(view: &ServiceView) -> Result<(), String> {
    let unknown: Vec<&str> = view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted && n.claims.is_none())
        .map(|n| short_id(&n.node_id))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(if unknown.len() == 1 {
        format!(
            "trusted node {} does not show what it attests; finalize waits until it does",
            unknown[0]
        )
    } else {
        format!(
            "trusted nodes {} do not show what they attest; finalize waits until they do",
            unknown.join(", ")
        )
    })
}

/// Preflight: `desired` new nodes can give the fault-tolerance floor. The detail is the same
/// either way.
pub fn floor_reachable(desired: usize, min_fault_tolerance: usize) -> (bool, String) {
    (
        fault_tolerance(desired) >= min_fault_tolerance,
        format!(
            "{desired} new nodes give f = {}; the minimum is {min_fault_tolerance}",
            fault_tolerance(desired)
        ),
    )
}

/// Preflight: `running` of `trusted` voting nodes are a majority.
pub fn majority_running(trusted: usize, running: usize) -> bool {
    running >= majority(trusted)
}

/// Soak: one failed look is a blip (a busy node answers 503, an election is brief); the same
/// node failing this many looks in a row has dropped out and fails the soak.
pub const SOAK_STRIKES: usize = 3;

/// Soak: a new node the primary has not heard from for longer than this (its consensus
/// `acks`) is not healthy: well above CCF's 100 ms message timeout, below its 5 s election
/// timeout.
pub const SOAK_ACK_SILENCE_MS: u64 = 3_000;

/// Soak: the nodes it judges, the trusted nodes of the target (an old node that drops out is
/// retired anyway, and the retirement gates keep a healthy majority).
pub fn soak_judges<'a>(view: &'a ServiceView, target: &Target) -> Vec<&'a NodeView> {
    view.nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted)
        .filter(|n| n.claims.as_ref().is_some_and(|c| target.matches(c)))
        .collect()
}

/// Soak: a node has reached what the primary had committed at the previous look.
pub fn soak_level(commit: u64, level_with: Option<u64>) -> Result<(), String> {
    match level_with {
        Some(want) if commit < want => Err(format!(
            "is behind: committed {commit}, the primary had {want}"
        )),
        _ => Ok(()),
    }
}

/// Soak: the primary has heard from the node within `limit_ms` (`silent_ms`: since when it
/// last did, where the primary says).
pub fn soak_heard(silent_ms: Option<u64>, limit_ms: u64) -> Result<(), String> {
    match silent_ms {
        Some(ms) if ms > limit_ms => Err(format!(
            "has not been heard from by the primary for {ms} ms"
        )),
        _ => Ok(()),
    }
}

/// Soak: every judged node reported the same primary (a known one) and view.
pub fn soak_agree(seen: &BTreeSet<(Option<String>, u64)>) -> bool {
    seen.len() == 1 && seen.iter().all(|(p, _)| p.is_some())
}

#[cfg(test)]
mod rollback_words {
    use super::Gate;

    #[test]
    fn a_rollbacks_gates_speak_of_the_previous_version() {
        let retire = Gate::RetireNode {
            min_fault_tolerance: 1,
        };
        for gate in [
            Gate::FirstLaunch,
            Gate::NextLaunch,
            Gate::FirstTrust,
            Gate::Soak,
            retire,
        ] {
            let text = gate.text_for(true);
            assert!(
                !text.contains("new node") && !text.contains("target"),
                "{text}"
            );
            assert_eq!(gate.text_for(false), gate.text());
        }
    }
}

#[cfg(test)]
mod tests;
