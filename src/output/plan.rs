//! Rendering a plan preview (`noderoll plan`, and `apply` before it asks).

use serde::Serialize;

use super::schema::{Doc, Versioned, versioned};
use crate::exec::engine::Check;
use crate::plan::{Plan, PlannedStep, TargetRef};

/// The JSON document of `plan --output json` (stamped with `schema_version` by [`document`]).
#[derive(Debug, Serialize)]
pub(crate) struct PlanDocument<'a> {
    /// The target.
    pub target: TargetRef,
    /// No step left.
    pub nothing_to_do: bool,
    /// Steps in order.
    pub steps: &'a [PlannedStep],
    /// Noticed and left alone.
    pub warnings: &'a [String],
    /// Why the next step cannot run now; with `state` `blocked`, why apply would refuse.
    pub blocked: Option<String>,
    /// Preflight results.
    pub preflight: Vec<CheckDocument>,
    /// The `[service] url` to use from now on (`https://` URLs of the service's Trusted
    /// nodes), when none of the plan's addresses is a node of the service any more; else null.
    pub service_urls: Option<Vec<String>>,
    /// What `apply` would do: `nothing_to_do`, `changes_pending`, `finalize_pending`, `blocked`.
    pub state: PlanState,
    /// What to do next (null when there is nothing to do).
    pub next_step: Option<super::next_step::NextStep>,
    /// Another run holds this service's lock (`apply` would exit 6 until it ends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_in_progress: Option<crate::journal::lock::Holder>,
    /// Where `--out` saved the plan (as given), for `noderoll apply FILE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_to: Option<String>,
}

/// What applying a plan would do, as `plan` reports it (its JSON `state`, its exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PlanState {
    /// The service runs the target: apply does nothing.
    NothingToDo,
    /// Steps to apply.
    ChangesPending,
    /// Only finalize is left and `[safety] finalize = "manual"`: apply does nothing; `noderoll
    /// finalize` removes the old code version.
    FinalizePending,
    /// Apply would refuse: a preflight check fails, or the target failed here before.
    Blocked,
}

/// A preflight check in JSON.
#[derive(Debug, Serialize)]
pub(crate) struct CheckDocument {
    /// Name.
    pub check: String,
    /// Passed.
    pub ok: bool,
    /// Details.
    pub detail: String,
    /// A passed check worth showing: `"note"` (what the run will use) or `"warning"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<&'static str>,
}

/// Build the JSON document.
pub(crate) fn document<'a>(
    target: TargetRef,
    plan: &'a Plan,
    checks: &[Check],
) -> Versioned<PlanDocument<'a>> {
    versioned(
        Doc::Plan,
        PlanDocument {
            target,
            nothing_to_do: plan.is_done(),
            steps: &plan.steps,
            warnings: &plan.warnings,
            blocked: plan.blocked.clone(),
            preflight: checks
                .iter()
                .map(|c| CheckDocument {
                    check: c.name.into(),
                    ok: c.ok,
                    detail: c.detail.clone(),
                    notice: c.notice.map(|n| n.as_str()),
                })
                .collect(),
            service_urls: None,
            state: if plan.is_done() {
                PlanState::NothingToDo
            } else {
                PlanState::ChangesPending
            },
            next_step: None,
            run_in_progress: None,
            saved_to: None,
        },
    )
}

/// The preview for people; a rollback's (`rollback`: `target` is the version gone back to)
/// in a rollback's words.
pub(crate) fn render_human(target: &str, plan: &Plan, checks: &[Check], rollback: bool) -> String {
    let mut out = String::new();
    if plan.is_done() {
        out.push_str(&format!(
            "Nothing to do: the service already runs {target}.\n"
        ));
    } else {
        out.push_str(&format!(
            "Plan: {} {target} in {}\n",
            if rollback {
                "roll back to"
            } else {
                "upgrade to"
            },
            super::count(plan.steps.len(), "step")
        ));
        let mut t = crate::output::table();
        t.set_header(vec![
            "#",
            "step",
            "nodes",
            "trusted after",
            "f after",
            "gate",
        ]);
        for (i, s) in plan.steps.iter().enumerate() {
            let mut step = s.step.describe_for(rollback);
            if s.point_of_no_return {
                step.push_str("  [point of no return]");
            }
            // While trusted nodes catch up only the caught-up ones acknowledge.
            let f = match (s.f_during_catch_up, s.stalls_writes) {
                (_, true) => format!("{} (writes stall while it catches up)", s.f_after),
                (Some(during), false) if during != s.f_after => {
                    format!("{} ({during} while catching up)", s.f_after)
                }
                _ => s.f_after.to_string(),
            };
            t.add_row(vec![
                (i + 1).to_string(),
                step,
                s.step.touches(),
                s.trusted_after.to_string(),
                f,
                s.gate.text_for(rollback),
            ]);
        }
        out.push_str(&crate::output::render(t));
        out.push('\n');
    }
    let mut said = String::new();
    for w in &plan.warnings {
        said.push_str(&format!("warning: {w}\n"));
    }
    if let Some(b) = &plan.blocked {
        said.push_str(&format!("blocked: {b}\n"));
    }
    if let Some(b) = &plan.launch_budget_spent {
        said.push_str(&format!("stopped: {b}\n"));
    }
    said.push_str(&preflight_lines(checks));
    // Wrapped at words on a terminal (or COLUMNS), as the table is; piped, one line each.
    out.push_str(&crate::output::wrap(&said, crate::output::width()));
    out
}

/// The preflight's lines: every failure, or that all pass with the notes and warnings.
fn preflight_lines(checks: &[Check]) -> String {
    let mut out = String::new();
    if checks.is_empty() {
        return out;
    }
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    if failed.is_empty() {
        out.push_str(&format!("Preflight: all {} checks pass.\n", checks.len()));
        for c in checks {
            if let Some(n) = c.notice {
                out.push_str(&format!("{}: {}: {}\n", n.as_str(), c.name, c.detail));
            }
        }
    } else {
        for c in failed {
            out.push_str(&format!("Preflight FAILED: {}: {}\n", c.name, c.detail));
        }
    }
    out
}

/// `noderoll plan`'s output: the preview, and which `[service] url` to use once it is done.
pub(crate) struct PlanView<'a> {
    /// The target.
    pub target: TargetRef,
    /// The plan.
    pub plan: &'a Plan,
    /// Preflight results.
    pub checks: &'a [Check],
    /// The plan file.
    pub plan_file: &'a std::path::Path,
    /// The addresses to put in `[service] url`, when the plan's no longer lead anywhere.
    pub moved: Option<Vec<crate::ccf::NodeAddr>>,
    /// What applying it would do.
    pub state: PlanState,
    /// What to do next (also printed on stderr).
    pub next_step: Option<&'a super::next_step::NextStep>,
    /// Another run holds this service's lock.
    pub running: Option<&'a crate::journal::lock::Holder>,
    /// Where `--out` saved the plan.
    pub saved_to: Option<&'a std::path::Path>,
}

/// The failed checks, each as `check: detail` (what apply would refuse with).
fn failed_checks(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect()
}

/// A blocked plan's `blocked`: why apply would refuse. The plan's own reason (a target that
/// failed before, in apply's words; a gate) first, then each failed check it does not
/// already say.
fn why_blocked(plan: &Plan, checks: &[Check]) -> String {
    let mut why: Vec<String> = plan.blocked.iter().cloned().collect();
    for c in checks.iter().filter(|c| !c.ok) {
        if !why.iter().any(|w| w.contains(&c.detail)) {
            why.push(format!("{}: {}", c.name, c.detail));
        }
    }
    why.join("; ")
}

impl super::Document for PlanView<'_> {
    fn human(&self) -> String {
        // What apply would do comes first when it would not go ahead.
        let mut text = String::new();
        if let Some(h) = self.running {
            text.push_str(&format!(
                "Run in progress: another noderoll run holds this service's lock (host {}, pid {}, run {}, since {}); apply would refuse (exit 6) until it ends. The preview below is of the service as it is now.\n",
                h.host, h.pid, h.run_id, h.started_at
            ));
        }
        if self.state == PlanState::Blocked {
            text.push_str(&format!(
                "Blocked: apply would refuse (exit 5): {}\n",
                failed_checks(self.checks).join("; ")
            ));
        }
        text.push_str(&render_human(
            &self.target.describe(),
            self.plan,
            self.checks,
            false,
        ));
        if self.state == PlanState::FinalizePending {
            text.push_str(&format!(
                "Finalize pending: every node runs {}; apply has nothing more to do ([safety] finalize = \"manual\").\n",
                self.target.describe()
            ));
        }
        if let Some(urls) = &self.moved {
            text.push_str(&super::summary::render_moved(self.plan_file, urls));
        }
        text
    }

    fn json(&self) -> String {
        let mut doc = document(self.target.clone(), self.plan, self.checks);
        doc.doc.service_urls = self
            .moved
            .as_ref()
            .map(|m| m.iter().map(crate::ccf::NodeAddr::url).collect());
        doc.doc.state = self.state;
        doc.doc.next_step = self.next_step.cloned();
        doc.doc.run_in_progress = self.running.cloned();
        doc.doc.saved_to = self.saved_to.map(|p| p.display().to_string());
        if self.state == PlanState::Blocked {
            doc.doc.blocked = Some(why_blocked(self.plan, self.checks));
        }
        super::printer::json_pretty(&doc)
    }
}
