//! `noderoll rollback --dry-run`: the steps that would take the service back.

use serde::Serialize;

use super::printer::json_line;
use super::schema::record;
use crate::plan::Plan;

/// The `rollback_plan` record (and the preview for people).
#[derive(Debug, Serialize)]
pub(crate) struct RollbackPlan<'a> {
    /// Always `rollback_plan`.
    #[serde(rename = "type")]
    kind_of_record: &'static str,
    /// The target given up, described.
    pub from: String,
    /// The version gone back to, described.
    pub to: String,
    /// `clean` or `roll_forward`.
    pub kind: &'static str,
    /// The steps.
    pub plan: &'a Plan,
    /// What to do next: the rollback itself.
    pub next_step: super::next_step::NextStep,
}

impl<'a> RollbackPlan<'a> {
    /// The rollback from `from` to `to`, of `kind`, by `plan`.
    pub(crate) fn new(
        from: String,
        to: String,
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
            self.from,
            self.to,
            super::plan::render_human(&self.to, self.plan, &[], true)
        )
    }

    fn json(&self) -> String {
        json_line(&record(self))
    }
}
