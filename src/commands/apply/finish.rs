//! The end of a run: look at the service once more, build the summary, notify, print, and
//! map the result to an exit code.

use std::time::Instant;

use crate::commands::upgrade::Wiring;
use crate::error_chain::ErrorDoc;
use crate::errors::AppError;
use crate::exec::Outcome;
use crate::exec::hooks::Notifier;
use crate::exit_codes;
use crate::observe::{Observation, observe};
use crate::output::summary::{Ending, FinishedView, RunSummary, Summary};
use crate::output::{Printer, status};
use crate::plan::spec::NotifyKind;

/// The outcome word of a result (journal, summary) and whether it is an interruption.
pub(crate) fn outcome_of(result: &Result<Outcome, AppError>) -> (&'static str, bool) {
    let interrupted = |e: &AppError| e.exit_code() == exit_codes::RESUMABLE;
    match result {
        Ok(Outcome::NothingToDo) => ("nothing_to_do", false),
        Ok(Outcome::Upgraded { .. }) => ("upgraded", false),
        Ok(Outcome::FinalizePending { .. }) => ("finalize_pending", false),
        Ok(Outcome::RolledBack { .. }) | Err(AppError::RolledBack { .. }) => ("rolled_back", false),
        Err(e) if interrupted(e) => ("interrupted", true),
        Err(_) => ("failed", false),
    }
}

/// The `[service] url` to use from now on, when the plan's no longer leads to the service:
/// none of its addresses is a Trusted node's any more, and either they named nodes `before`
/// the run (which retired them) or this command reached the service only through the
/// addresses kept in the state directory. A load balancer or DNS name in `[service] url` is
/// not a node's address and still answers (`before` was read through it): nothing to update.
pub(crate) fn moved_service_urls(
    w: &Wiring,
    before: Option<&Observation>,
    after: &Observation,
) -> Option<Vec<crate::ccf::NodeAddr>> {
    let configured = &w.plan.service.nodes;
    let trusted: Vec<crate::ccf::NodeAddr> = after
        .nodes
        .iter()
        .filter(|n| n.info.status == crate::ccf::types::NodeStatus::Trusted)
        .filter_map(|n| n.address.clone())
        .collect();
    if trusted.is_empty() || trusted.iter().any(|a| configured.contains(a)) {
        return None;
    }
    let fell_back = w.client.address_book().is_some_and(|b| b.fell_back());
    let named_before = before.is_some_and(|b| {
        let node_address =
            |a: &crate::ccf::NodeAddr| b.nodes.iter().any(|n| n.address.as_ref() == Some(a));
        // Read through a configured address that is no node's: a stable one.
        let stable = configured.contains(&b.answered_by) && !node_address(&b.answered_by);
        !stable && configured.iter().any(node_address)
    });
    (named_before || fell_back).then_some(trusted)
}

/// How the run ended, for people.
fn ending(result: &Result<Outcome, AppError>, interrupted: bool) -> Ending {
    match result {
        Ok(Outcome::NothingToDo) => Ending::NothingToDo,
        Ok(Outcome::Upgraded { .. }) => Ending::Upgraded,
        Ok(Outcome::RolledBack { .. }) => Ending::RolledBack,
        Ok(Outcome::FinalizePending { .. }) => Ending::FinalizePending,
        Err(_) if interrupted => Ending::Interrupted,
        Err(_) => Ending::Failed,
    }
}

/// What to do after the run: after a failure, by its error; with finalize held (`[safety]
/// finalize = "manual"`), finalize.
fn next_after(
    result: &Result<Outcome, AppError>,
    w: &Wiring,
    resume_hint: &str,
) -> Option<crate::next_step::NextStep> {
    let commands = crate::next_step::Commands::of_run(resume_hint, &w.plan.path);
    match result {
        Err(e) => Some(crate::next_step::after_error(e, &commands)),
        Ok(Outcome::FinalizePending { .. }) => Some(crate::next_step::NextStep::new(
            crate::next_step::Action::Finalize,
            Some(commands.finalize()),
            "every node runs the target; the old code version stays registered until finalize removes it ([safety] finalize = \"manual\"; the point of no return)",
        )),
        Ok(_) => None,
    }
}

/// Print the outcome (summary record or table) and map it to an exit code. `before`: the
/// service as the run found it; `ran`: the result, the nodes last seen and the steps started.
pub(crate) async fn finish(
    w: &Wiring,
    before: Option<&Observation>,
    printer: Printer,
    (result, nodes, steps): super::Ran,
    started: Instant,
    resume_hint: &str,
    notifier: Option<&Notifier>,
) -> Result<u8, AppError> {
    let elapsed = started.elapsed().as_secs_f64();
    let after = observe(&w.client, &w.probe, &nodes).await.ok();
    let moved = after
        .as_ref()
        .and_then(|a| moved_service_urls(w, before, a));
    let (outcome, interrupted) = outcome_of(&result);
    let ending = ending(&result, interrupted);
    let error = match &result {
        Ok(_) => None,
        Err(e) if interrupted => Some(ErrorDoc::message(e.to_string())),
        Err(e) => Some(crate::error_chain::document(e)),
    };
    let next = next_after(&result, w, resume_hint);
    let summary = Summary::finished(
        outcome,
        steps,
        RunSummary {
            elapsed_s: (elapsed * 1000.0).round() / 1000.0,
            error,
            resume: interrupted.then(|| resume_hint.to_string()),
            next_step: next.clone(),
            service: after.as_ref().map(status::document),
            service_urls: moved
                .as_ref()
                .map(|m| m.iter().map(crate::ccf::NodeAddr::url).collect()),
        },
    )
    .record();
    if let Some(n) = notifier {
        let kind = match (&result, outcome) {
            (_, "rolled_back") => NotifyKind::RolledBack,
            (Ok(_), _) => NotifyKind::Finished,
            (Err(_), _) => NotifyKind::Failed,
        };
        n.send(kind, summary.clone());
        n.flush().await;
    }
    let shows_service = matches!(
        &result,
        Ok(Outcome::Upgraded { .. } | Outcome::RolledBack { .. } | Outcome::FinalizePending { .. })
            | Err(AppError::RolledBack { .. })
    );
    let view = FinishedView {
        summary,
        ending,
        steps,
        target: w.spec.target.describe(),
        plan: &w.plan.path,
        next: next.clone(),
        elapsed,
        service: after
            .as_ref()
            .filter(|_| shows_service)
            .map(status::render_human),
        moved,
    };
    printer.print_outcome(&view)?;
    match (result, next) {
        (Ok(_), _) => Ok(exit_codes::SUCCESS),
        (Err(e), Some(next)) => Err(crate::next_step::noted(e, next)),
        (Err(e), None) => Err(e),
    }
}
