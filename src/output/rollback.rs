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
        format!(
            "Rollback ({}) from {} to {}:\n{}",
            self.kind,
            self.from.describe(),
            self.to.describe(),
            super::plan::render_human(&self.to.describe(), self.plan, &[], true)
        )
    }

    fn json(&self) -> String {
        json_line(&record(Doc::RollbackPlan, self))
    }
}
