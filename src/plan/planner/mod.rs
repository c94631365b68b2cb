//! Planning: a pure function of (observed service, plan file, what this run launched) that
//! returns the steps still needed, in order, each with the node count and fault tolerance
//! after it and the gate it must pass. No I/O; unit- and property-tested.
//!
//! The rules (CCF's code-upgrade procedure):
//! * register the target code version (all "add" actions in one proposal) before launching;
//! * launch enough new nodes, trust only Pending nodes this run launched whose attestation is
//!   the target's, all in one proposal;
//! * soak, then retire old nodes one at a time, backups first and the primary last, never
//!   leaving f below the minimum or the healthy nodes below a majority;
//! * clean up retired nodes (removable → stop → DELETE);
//! * finalize (remove the old code version: the point of no return) once no old node is left.
//!
//! Each phase is a file of its own, in the order `plan` runs them: `abandoned` (a rollback's
//! leftovers), `pending` (Pending nodes), `new_nodes` (register, launch, trust), `retire`
//! (soak, retirements), `cleanup` (retired and surplus nodes), `finalize`. The gates the steps
//! carry, and their checks, are in [`crate::plan::gates`].

use serde::{Deserialize, Serialize};

use super::gates::Gate;
use super::spec::{Target, UpgradeSpec};
use planning::{Planning, Split, split_trusted};

mod abandoned;
mod cleanup;
mod finalize;
mod new_nodes;
mod pending;
mod planning;
mod retire;
#[cfg(test)]
mod tests;

pub use super::gates::{fault_tolerance, majority};
pub use super::step::Step;
pub use super::view::{Launched, NodeView, ServiceView};

/// What this run knows beyond the service.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// Nodes this run launched.
    pub launched: Vec<Launched>,
    /// New trusted nodes when the last soak passed (0: none yet).
    pub soaked_new: usize,
    /// New nodes wanted (resolved once per run).
    pub desired: usize,
    /// Minimum fault tolerance (resolved once per run).
    pub min_fault_tolerance: usize,
    /// Rolling back: the upgrade being abandoned (the spec's target is then the version
    /// rolled back to).
    pub abandon: Option<Abandon>,
    /// Launched nodes (of this run or the abandoned one) already stopped.
    pub stopped: Vec<Launched>,
    /// Launch commands this run has started (adopted nodes of earlier runs not included).
    pub launches: usize,
    /// Most launches this run may start; `None`: the new node count (`desired`).
    pub launch_budget: Option<usize>,
    /// Nodes this run proposed to retire: waited for even when not yet removable.
    pub retired: Vec<String>,
    /// Make a fresh snapshot before the first launch (resolved once per run,
    /// [`crate::plan::snapshot::fresh_snapshot_wanted`]).
    pub fresh_snapshot: bool,
    /// The snapshot this run made, handed to its launches.
    pub snapshot: Option<crate::plan::snapshot::FreshSnapshot>,
}

impl RunContext {
    /// Launches this run may still start.
    pub fn launches_left(&self) -> usize {
        self.launch_budget
            .unwrap_or(self.desired)
            .saturating_sub(self.launches)
    }
}

/// The upgrade a rollback abandons.
#[derive(Debug, Clone, PartialEq)]
pub struct Abandon {
    /// Its target: Pending nodes attesting it are stopped and removed, and its code version
    /// is deregistered last.
    pub target: Target,
    /// Nodes it launched: any that never joined are stopped.
    pub launched: Vec<Launched>,
}

/// A step with its consequences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// The step.
    pub step: Step,
    /// Trusted nodes after it.
    pub trusted_after: usize,
    /// Fault tolerance after it.
    pub f_after: usize,
    /// Trusting nodes: the fault tolerance while they catch up (only the caught-up nodes
    /// acknowledge, and commit needs a majority of the configuration that includes the new
    /// ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f_during_catch_up: Option<usize>,
    /// Trusting nodes: the caught-up nodes are not a majority of the new configuration, so no
    /// write commits until a new node has caught up (only a 1-node service plans this).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stalls_writes: bool,
    /// What must hold before it runs.
    pub gate: Gate,
    /// After this step, rolling back is no longer possible.
    pub point_of_no_return: bool,
}

/// The remaining work.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Plan {
    /// Steps in order.
    pub steps: Vec<PlannedStep>,
    /// Things noticed and left alone (unknown Pending nodes, ...).
    pub warnings: Vec<String>,
    /// Why the next step cannot run yet (a gate that does not hold now).
    pub blocked: Option<String>,
    /// The launch budget is spent and the target still lacks nodes: the run stops (exit 3)
    /// rather than launch more. Names the launched nodes and why none qualified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_budget_spent: Option<String>,
}

impl Plan {
    /// Nothing left to do.
    pub fn is_done(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Resolve the run-wide numbers from the first observation: the new node count (default:
/// as many as the service has) and the fault-tolerance floor (default: the f of a service of
/// that size, i.e. the f it had before the upgrade began).
pub fn resolve_context(view: &ServiceView, spec: &UpgradeSpec) -> (usize, usize) {
    let Split { old, new, unknown } = split_trusted(view, spec);
    let old = [old, unknown].concat();
    let desired = spec.nodes.count.unwrap_or(old.len().max(new.len()).max(1));
    // The f of the service as it was before the upgrade (not of the larger interim service a
    // resumed run may find), so the floor holds whether a run starts fresh or resumes.
    let min_f = spec
        .safety
        .min_fault_tolerance
        .unwrap_or_else(|| fault_tolerance(old.len().max(new.len())));
    (desired, min_f)
}

/// Trusted nodes already on the target.
pub fn count_new(view: &ServiceView, spec: &UpgradeSpec) -> usize {
    split_trusted(view, spec).new.len()
}

/// The steps still needed to reach the target.
pub fn plan(view: &ServiceView, spec: &UpgradeSpec, ctx: &RunContext) -> Plan {
    let mut p = Planning::new(view, spec, ctx);
    p.abandoned_leftovers();
    p.pending_nodes();
    p.new_nodes();
    p.soak_before_retiring();
    p.retirements();
    p.retired_removals();
    p.surplus_removals();
    if ctx.abandon.is_some() {
        p.abandoned_code();
        // A rollback's gates hold for the previous version's nodes: its refusals say so.
        p.out.blocked = p.out.blocked.map(|b| super::gates::in_rollback_words(&b));
    } else {
        p.finalize();
    }
    p.out
}

impl Plan {
    /// The plan as a run's documents and events carry it: in a rollback, each gate's text in
    /// the rollback's words ([`Gate::text_for`]), as the human table has them, kept as
    /// [`Gate::Saved`] (nothing reads a rollback's steps back; an upgrade's keep their gates).
    pub fn worded_for(&self, rollback: bool) -> Plan {
        let mut worded = self.clone();
        if rollback {
            for s in &mut worded.steps {
                s.gate = Gate::Saved(s.gate.text_for(true));
            }
        }
        worded
    }
}
