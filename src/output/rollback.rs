//! `noderoll rollback --dry-run`: the steps that would take the service back.

use serde::Serialize;

use super::printer::json_line;
use super::schema::{Doc, record};
use crate::plan::{Plan, TargetRef};

/// The `rollback_plan` record (and the preview for people).
#[derive(Debug, Serialize)]
pub(crate) struct RollbackPlan<'a> {
    /// Always `rollback_plan`.
    #[serde(rename = "type")]
    kind_of_record: &'static str,
    /// The target given up.
    pub from: TargetRef,
    /// The version gone back to.
    pub to: TargetRef,
    /// `clean` or `roll_forward`.
    pub kind: &'static str,
    /// The steps, warnings and `blocked`, as in the plan document (`plan` is a service's
    /// label in watch's lines).
    #[serde(flatten)]
    pub plan: &'a Plan,
    /// What to do next: the rollback itself.
    pub next_step: super::next_step::NextStep,
}

impl<'a> RollbackPlan<'a> {
    /// The rollback from `from` to `to`, of `kind`, by `plan`.
    pub(crate) fn new(
        from: TargetRef,
        to: TargetRef,
        kind: &'static str,
        plan: &'a Plan,
        next_step: super::next_step::NextStep,
    ) -> Self {
        RollbackPlan {
            next_step,
            kind_of_record: "rollback_plan",
            from,
            to,
            kind,
            plan,
        }
    }
}

impl super::Document for RollbackPlan<'_> {
    fn human(&self) -> String {
        let kind = match self.kind {
            "clean" => {
                "clean: no node of the previous version was retired; nothing is launched and the abandoned upgrade's nodes are removed"
            }
            _ => {
                "roll forward: nodes of the previous version were retired; as many are launched again before the abandoned upgrade's nodes are removed"
            }
        };
        format!(
            "Rollback ({kind}) from {} to {}:\n{}",
            self.from.describe(),
            self.to.describe(),
            super::plan::render_human(&self.to.describe(), self.plan, &[], true)
        )
    }

    /// Each step's `gate` in the rollback's words, as the human table has them. A rollback
    /// plan is never loaded back (only an upgrade's is saved, and keeps its gates' own texts).
    fn json(&self) -> String {
        let worded = self.plan.worded_for(true);
        let doc = RollbackPlan {
            plan: &worded,
            next_step: self.next_step.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            ..*self
        };
        json_line(&record(Doc::RollbackPlan, &doc))
    }
}
