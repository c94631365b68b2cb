//! `noderoll plan`: a read-only, terraform-like preview.

use std::path::Path;

use crate::cli::args::PlanArgs;
use crate::commands::apply::failed_target_refusal;
use crate::commands::upgrade::{Wiring, wire};
use crate::errors::AppError;
use crate::exec::{Engine, NullReporter, RunOptions};
use crate::exit_codes;
use crate::journal::{Journal, ServiceState};
use crate::next_step::shell_word;
use crate::next_step::{Action, NextStep};
use crate::output::Printer;
use crate::output::plan::{PlanState, PlanView};
use crate::plan::saved::{SAVED_PLAN_VERSION, SavedPlan, file_sha256, fingerprint};
use crate::plan::{Plan, ServiceView};
use crate::wait::Cancel;

/// Observe, plan, print; optionally save.
pub(crate) async fn run(args: &PlanArgs, printer: Printer, cancel: Cancel) -> Result<u8, AppError> {
    let state_dir = args.state_dir.resolve();
    let w = wire(&args.plan, Some(&state_dir), &cancel)?;
    // This machine's journal (read, not locked): what its unfinished runs launched is theirs
    // to continue, not a sign of an upgrade elsewhere; a failed target is refused as apply
    // refuses it.
    let service_state = ServiceState::open(&state_dir, &w.service_cert_sha256)?;
    let journal = Journal::open(&service_state)?;
    // Another run acting on the service (plan never takes the lock).
    let running = service_state.holder();
    let mut engine = plan_engine(&w, args, &journal, cancel);
    let (obs, view) = engine.observe().await?;
    // A `[target] node_cert_validity_days` the service refuses is a plan-file error (exit 64).
    engine.node_cert_validity(&obs).await?;
    let mut plan = engine.plan_for(&view);
    let moved = crate::commands::apply::moved_service_urls(&w, Some(&obs), &obs);
    warn(&mut plan, &w, &view, moved.is_some());
    let refusal = failed_target_refusal(&journal, &w.spec.target, args.retry_failed_target)
        .filter(|_| !plan.is_done());
    if let Some(r) = &refusal {
        plan.blocked = Some(crate::errors::one_line(r));
    }
    // With finalize = "manual" and only finalize left, apply does nothing (and checks nothing).
    let finalize_pending = matches!(
        engine.settled(&plan),
        Some(Ok(crate::exec::Outcome::FinalizePending { .. }))
    );
    let mut checks = if plan.is_done() || finalize_pending {
        Vec::new()
    } else {
        engine.preflight(&obs, &view).await
    };
    // apply refuses a failed target before its preflight: counted as a failed check, so the
    // summary never says all pass when apply would refuse.
    if let Some(r) = &refusal {
        checks.push(crate::exec::engine::Check {
            name: "target not failed here before",
            ok: false,
            detail: crate::errors::one_line(r),
            notice: None,
        });
    }
    let state = if plan.is_done() {
        PlanState::NothingToDo
    } else if refusal.is_some() || checks.iter().any(|c| !c.ok) {
        PlanState::Blocked
    } else if finalize_pending {
        PlanState::FinalizePending
    } else {
        PlanState::ChangesPending
    };
    let next = match &running {
        Some(h) => Some(wait_for(h, &w.plan.path)),
        None => next_step(state, &w.plan.path, &checks, refusal.as_ref()),
    };
    printer.print(&PlanView {
        target: w.spec.target.reference(),
        plan: &plan,
        checks: &checks,
        plan_file: &w.plan.path,
        moved,
        state,
        next_step: next.as_ref(),
        running: running.as_ref(),
    })?;
    if let Some(out) = &args.out {
        save(args, out, &view, &plan, printer)?;
    }
    if let Some(next) = &next {
        crate::next_step::print_stderr(next);
    }
    Ok(exit_code(state, running.is_some(), args.detailed_exitcode))
}

/// `plan`'s exit code. apply takes the lock first: while another run holds it (`locked`),
/// apply exits 6, so plan does too (a pipeline running plan before apply stops here).
fn exit_code(state: PlanState, locked: bool, detailed: bool) -> u8 {
    match state {
        _ if locked => exit_codes::LOCKED,
        PlanState::Blocked => exit_codes::PREFLIGHT_FAILED,
        PlanState::ChangesPending if detailed => exit_codes::CHANGES_PENDING,
        PlanState::FinalizePending if detailed => exit_codes::FINALIZE_PENDING,
        _ => exit_codes::SUCCESS,
    }
}

/// While another run holds the lock: wait for it, then plan again.
fn wait_for(h: &crate::journal::lock::Holder, plan_file: &Path) -> NextStep {
    let plan = shell_word(&plan_file.display().to_string());
    NextStep::new(
        Action::Wait,
        Some(format!("noderoll plan --plan {plan}")),
        format!(
            "the run in progress to end (host {}, pid {}, run {}, since {}): apply refuses (exit 6) while it holds the lock",
            h.host, h.pid, h.run_id, h.started_at
        ),
    )
}

/// What applying the plan would do next, as `apply` would do it.
fn next_step(
    state: PlanState,
    plan_file: &Path,
    checks: &[crate::exec::engine::Check],
    refusal: Option<&AppError>,
) -> Option<NextStep> {
    let plan = shell_word(&plan_file.display().to_string());
    let apply = format!("noderoll apply --plan {plan} --yes");
    // The flags this `plan` was given that the command must carry (`--retry-failed-target`).
    let kept = crate::next_step::Kept::of_process();
    Some(match state {
        PlanState::NothingToDo => return None,
        PlanState::ChangesPending => NextStep::new(
            Action::Apply,
            Some(kept.carried_by(&format!("noderoll apply --plan {plan}"))),
            "the steps above are pending; apply shows them again and asks",
        ),
        PlanState::FinalizePending => NextStep::new(
            Action::Finalize,
            Some(kept.carried_by(&format!("noderoll finalize --plan {plan} --yes"))),
            "every node runs the target; the old code version stays registered until finalize removes it ([safety] finalize = \"manual\"; the point of no return)",
        ),
        PlanState::Blocked => match refusal {
            Some(r) => {
                let commands = crate::next_step::Commands::of_run(&apply, plan_file);
                crate::next_step::after_error(r, &commands)
            }
            None => {
                let failed: Vec<String> = checks
                    .iter()
                    .filter(|c| !c.ok)
                    .map(|c| format!("{}: {}", c.name, c.detail))
                    .collect();
                let refused = crate::exec::EngineError::Preflight { failed };
                let commands = crate::next_step::Commands::of_run(&apply, plan_file);
                crate::next_step::after_error(&AppError::Engine(refused), &commands)
            }
        },
    })
}

/// The engine that plans: it knows what this machine's unfinished runs launched.
fn plan_engine(w: &Wiring, args: &PlanArgs, journal: &Journal, cancel: Cancel) -> Engine {
    let (adopted, in_flight) = journal.unfinished_launches();
    let options = RunOptions {
        allow_downgrade: args.versions.allow_downgrade,
        allow_version_jump: args.versions.allow_version_jump,
        adopted,
        in_flight,
        resuming: journal.in_progress(),
        ..Default::default()
    };
    w.engine_with(options, std::sync::Arc::new(NullReporter), cancel)
}

/// The plan's warning about the plan file's addresses.
fn warn(plan: &mut Plan, w: &Wiring, view: &ServiceView, moved: bool) {
    if !moved && let Some(named) = retires_every_named_node(&w.plan.service.nodes, view, plan) {
        plan.warnings.push(format!(
            "this upgrade retires every node [service] url names ({named}): once it is done, update [service] url (apply prints the line to use), or put a stable address there (a DNS name or a load balancer)"
        ));
    }
}

/// `--out`: save the plan for `noderoll apply FILE`.
fn save(
    args: &PlanArgs,
    out: &Path,
    view: &ServiceView,
    plan: &Plan,
    printer: Printer,
) -> Result<(), AppError> {
    let plan_file = std::fs::canonicalize(&args.plan).unwrap_or_else(|_| args.plan.clone());
    let saved = SavedPlan {
        schema_version: SAVED_PLAN_VERSION,
        plan_sha256: file_sha256(&plan_file)
            .map_err(|e| AppError::Usage(format!("cannot read {}: {e}", plan_file.display())))?,
        plan_file,
        state_fingerprint: fingerprint(view),
        created_at: jiff::Timestamp::now().to_string(),
        steps: plan.steps.clone(),
    };
    let text = serde_json::to_string_pretty(&saved).expect("saved plan serialises");
    std::fs::write(out, text)
        .map_err(|e| AppError::Usage(format!("cannot write {}: {e}", out.display())))?;
    // Where it went and how to apply exactly that (JSON output stays one document).
    let shown = out.display().to_string();
    printer.human(&format!(
        "Saved the plan to {shown}; apply exactly it with: noderoll apply {}\n",
        shell_word(&shown)
    ))?;
    Ok(())
}

/// When every Trusted node at an address of `[service] url` is retired by the plan's steps,
/// those addresses (the plan file will name no node once the upgrade is done).
fn retires_every_named_node(
    configured: &[crate::ccf::NodeAddr],
    view: &crate::plan::ServiceView,
    plan: &crate::plan::Plan,
) -> Option<String> {
    let named: Vec<&crate::plan::NodeView> = view
        .nodes
        .iter()
        .filter(|n| n.status == crate::ccf::types::NodeStatus::Trusted)
        .filter(|n| n.address.as_ref().is_some_and(|a| configured.contains(a)))
        .collect();
    let retired = |n: &&crate::plan::NodeView| {
        plan.steps.iter().any(|s| {
            matches!(&s.step, crate::plan::Step::RetireNode { node_id, .. } if *node_id == n.node_id)
        })
    };
    (!named.is_empty() && named.iter().all(retired)).then(|| {
        named
            .iter()
            .filter_map(|n| n.address.as_ref().map(ToString::to_string))
            .collect::<Vec<_>>()
            .join(", ")
    })
}
