//! The `summary` record that ends a run's JSON Lines (`apply`, `rollback`, `finalize`,
//! `channel apply`, `demo`), and the outcome line people see in its place.
//!
//! Two shapes share the one type: a run that did nothing (`nothing_to_do` found before any
//! engine ran: `type`, `outcome`, `steps_run` only) and a run that finished (also
//! `elapsed_s`, `error`, `resume`, `next_step`, `service`, `service_urls`, each present even
//! when null).

use serde::Serialize;
use serde_json::Value;

use super::schema::{Doc, Versioned, record};
use super::status::StatusDocument;
use crate::error_chain::ErrorDoc;

/// The `summary` record.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    /// Always `summary`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// `nothing_to_do`, `upgraded`, `finalize_pending`, `rolled_back`, `interrupted`, `failed`.
    pub outcome: &'static str,
    /// Steps executed (`run_started.steps` lists those planned).
    pub steps_run: usize,
    /// What a finished run adds.
    #[serde(flatten)]
    pub run: Option<RunSummary>,
}

/// The fields of a run that finished.
#[derive(Debug, Serialize)]
pub(crate) struct RunSummary {
    /// Seconds, to the millisecond.
    pub elapsed_s: f64,
    /// The failure: its message and causes (an interruption: its message only).
    pub error: Option<ErrorDoc>,
    /// The command that continues an interrupted run.
    pub resume: Option<String>,
    /// What to do next, when the run did not succeed: `{action, command, reason}`.
    pub next_step: Option<super::next_step::NextStep>,
    /// The service as the run left it (the `status` document).
    pub service: Option<Versioned<StatusDocument>>,
    /// The `[service] url` to use from now on, when the plan's no longer leads anywhere.
    pub service_urls: Option<Vec<String>>,
}

impl Summary {
    /// Nothing was run: the service already is where it should be.
    pub(crate) fn nothing_to_do() -> Self {
        Summary {
            kind: "summary",
            outcome: "nothing_to_do",
            steps_run: 0,
            run: None,
        }
    }

    /// A run that finished with `outcome` after `steps`.
    pub(crate) fn finished(outcome: &'static str, steps: usize, run: RunSummary) -> Self {
        Summary {
            kind: "summary",
            outcome,
            steps_run: steps,
            run: Some(run),
        }
    }

    /// A command that failed before it printed a document of its own (`--output json`): the
    /// error and what to do next; no step ran, nothing is known of the service.
    pub(crate) fn refused(
        interrupted: bool,
        elapsed_s: f64,
        error: ErrorDoc,
        next: super::next_step::NextStep,
    ) -> Self {
        let resume = if interrupted {
            next.command.clone()
        } else {
            None
        };
        let outcome = if interrupted { "interrupted" } else { "failed" };
        Summary::finished(
            outcome,
            0,
            RunSummary {
                elapsed_s,
                error: Some(error),
                resume,
                next_step: Some(next),
                service: None,
                service_urls: None,
            },
        )
    }

    /// The JSON Lines record (stamped, with `at`).
    pub(crate) fn record(&self) -> Value {
        record(Doc::Summary, self)
    }
}

/// How a run ended, as the line people read says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The service already ran the target.
    NothingToDo,
    /// The upgrade completed.
    Upgraded,
    /// A rollback completed.
    RolledBack,
    /// Everything but finalize is done.
    FinalizePending,
    /// Stopped at a safe point.
    Interrupted,
    /// Failed: the error says it (on stderr).
    Failed,
}

/// A finished run as printed: the summary record, or for people the service's table, the
/// outcome line and which `[service] url` to use from now on.
pub(crate) struct FinishedView<'a> {
    /// The summary record (stamped).
    pub summary: Value,
    /// How it ended.
    pub ending: Ending,
    /// Steps executed.
    pub steps: usize,
    /// The target, described.
    pub target: String,
    /// The plan file.
    pub plan: &'a std::path::Path,
    /// What to do next (the finalize command when finalize is pending).
    pub next: Option<super::next_step::NextStep>,
    /// Seconds the run took.
    pub elapsed: f64,
    /// The service's table, when the run changed the service.
    pub service: Option<String>,
    /// The addresses to put in `[service] url`, when the plan's no longer lead anywhere.
    pub moved: Option<Vec<crate::ccf::NodeAddr>>,
}

impl super::Document for FinishedView<'_> {
    fn human(&self) -> String {
        let mut out = self.service.clone().unwrap_or_default();
        out.push_str(&self.outcome_line());
        if let Some(urls) = &self.moved {
            out.push_str(&render_moved(self.plan, urls));
        }
        out
    }

    fn json(&self) -> String {
        super::printer::json_line(&self.summary)
    }
}

impl FinishedView<'_> {
    fn outcome_line(&self) -> String {
        let (target, elapsed) = (&self.target, self.elapsed);
        let steps = super::count(self.steps, "step");
        match self.ending {
            Ending::NothingToDo => format!("Nothing to do: the service already runs {target}.\n"),
            Ending::Upgraded => format!("Upgraded to {target} in {elapsed:.1}s ({steps}).\n"),
            Ending::RolledBack => {
                format!("Rolled back from {target} in {elapsed:.1}s ({steps}).\n")
            }
            Ending::FinalizePending => format!(
                "Every node runs {target} ({steps} in {elapsed:.1}s). The old code version is still registered ([safety] finalize = \"manual\"); when satisfied, remove it with: {}\n",
                self.next
                    .as_ref()
                    .and_then(|n| n.command.clone())
                    .unwrap_or_else(|| format!(
                        "noderoll finalize --plan {} --yes",
                        self.plan.display()
                    ))
            ),
            // What to do next ends stderr, as after every failure.
            Ending::Interrupted => format!("Interrupted at a safe point after {elapsed:.1}s.\n"),
            Ending::Failed => String::new(),
        }
    }
}

/// The lines that tell people which `[service] url` to use from now on.
pub(crate) fn render_moved(plan: &std::path::Path, urls: &[crate::ccf::NodeAddr]) -> String {
    format!(
        "None of the addresses in [service] url of {} is a node of the service any more: the nodes it named were retired.\nUpdate [service] url: {}\n",
        plan.display(),
        crate::observe::url_line(urls)
    )
}
