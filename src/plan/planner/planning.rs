//! The planning in progress: what the phases read and what they have planned so far.

use super::{Plan, PlannedStep, RunContext};
use crate::ccf::types::NodeStatus;
use crate::plan::gates::{Gate, fault_tolerance};
use crate::plan::spec::UpgradeSpec;
use crate::plan::step::Step;
use crate::plan::view::{NodeView, ServiceView};

/// Trusted nodes by what they attest.
pub(super) struct Split<'a> {
    /// Attesting another code version.
    pub(super) old: Vec<&'a NodeView>,
    /// Attesting the target.
    pub(super) new: Vec<&'a NodeView>,
    /// Attestation not readable: neither retired nor counted as the target's.
    pub(super) unknown: Vec<&'a NodeView>,
}

pub(super) fn split_trusted<'a>(view: &'a ServiceView, spec: &UpgradeSpec) -> Split<'a> {
    let mut out = Split {
        old: Vec::new(),
        new: Vec::new(),
        unknown: Vec::new(),
    };
    for n in view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted)
    {
        match &n.claims {
            Some(c) if spec.target.matches(c) => out.new.push(n),
            Some(_) => out.old.push(n),
            None => out.unknown.push(n),
        }
    }
    out
}

/// What the phases of `plan` share.
pub(super) struct Planning<'a> {
    pub(super) view: &'a ServiceView,
    pub(super) spec: &'a UpgradeSpec,
    pub(super) ctx: &'a RunContext,
    pub(super) split: Split<'a>,
    /// The plan so far.
    pub(super) out: Plan,
    /// Trusted nodes after the steps planned so far.
    pub(super) trusted: usize,
    /// Voting nodes that acknowledge (reachable and caught up) after the steps planned so far.
    pub(super) caught_up: usize,
    /// New nodes still wanted.
    pub(super) need_new: usize,
    /// Pending nodes this run launched for the target.
    pub(super) pending_ours: Vec<&'a NodeView>,
    /// Pending nodes this upgrade launched that will not be trusted: stopped and removed
    /// before the run reports success, so none is left behind.
    pub(super) surplus: Vec<&'a NodeView>,
    /// Ids of the Pending nodes of `pending_ours` no trust step has taken yet.
    pub(super) waiting: Vec<String>,
}

impl<'a> Planning<'a> {
    pub(super) fn new(
        view: &'a ServiceView,
        spec: &'a UpgradeSpec,
        ctx: &'a RunContext,
    ) -> Planning<'a> {
        let split = split_trusted(view, spec);
        let trusted = split.old.len() + split.new.len() + split.unknown.len();
        let caught_up = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted && n.reachable && n.ready)
            .count();
        let need_new = ctx.desired.saturating_sub(split.new.len());
        Planning {
            view,
            spec,
            ctx,
            split,
            out: Plan::default(),
            trusted,
            caught_up,
            need_new,
            pending_ours: Vec::new(),
            surplus: Vec::new(),
            waiting: Vec::new(),
        }
    }

    /// Add a step, with the trusted count and f after it as planned so far.
    pub(super) fn push(&mut self, step: Step, gate: Gate, point_of_no_return: bool) {
        self.out.steps.push(PlannedStep {
            step,
            trusted_after: self.trusted,
            f_after: fault_tolerance(self.trusted),
            f_during_catch_up: None,
            stalls_writes: false,
            gate,
            point_of_no_return,
        });
    }

    /// This run launched `n`.
    pub(super) fn ours(&self, n: &NodeView) -> bool {
        self.ctx.launched.iter().any(|l| l.is(n))
    }

    /// `n` belongs to the upgrade a rollback abandons.
    pub(super) fn abandoned(&self, n: &NodeView) -> bool {
        self.ctx.abandon.as_ref().is_some_and(|a| match &n.claims {
            Some(c) => a.target.matches(c),
            // Unreadable (a Pending SNP node, or one stopped by an interrupted rollback): the
            // abandoned upgrade's own launch is still its to remove.
            None => a.launched.iter().any(|l| l.is(n)),
        })
    }
}
