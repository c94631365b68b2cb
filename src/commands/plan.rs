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
use crate::next_step::{Action, Commands, NextStep};
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
    checks.extend(refusal.as_ref().map(|r| crate::exec::engine::Check {
        name: "target not failed here before",
        ok: false,
        detail: crate::errors::one_line(r),
        notice: None,
    }));
    let state = state_of(&plan, &checks, finalize_pending);
    // Saved first, so that the document can say where (and the next step apply it).
    let saved = match &args.out {
        Some(out) => Some(save(args, out, &view, &plan)?),
        None => None,
    };
    let next = next_step(
        state,
        &w.plan.path,
        &checks,
        refusal.as_ref(),
        &saved,
        &running,
    );
    printer.print(&PlanView {
        target: w.spec.target.reference(),
        plan: &plan,
        checks: &checks,
        plan_file: &w.plan.path,
        moved,
        state,
        next_step: next.as_ref(),
        running: running.as_ref(),
        saved_to: args.out.as_deref(),
    })?;
    if let (Some(out), Some(apply)) = (&args.out, &saved) {
        // Where it went and how to apply exactly that (JSON output stays one document).
        let out = out.display();
        printer.human(&format!(
            "Saved the plan to {out}; apply exactly it with: {apply}\n"
        ))?;
    }
    if let Some(next) = &next {
        crate::next_step::print_stderr(next);
    }
    Ok(exit_code(state, running.is_some(), args.detailed_exitcode))
}

/// What applying the plan would do (a failed target is among the failed `checks`).
fn state_of(
    plan: &Plan,
    checks: &[crate::exec::engine::Check],
    finalize_pending: bool,
) -> PlanState {
    if plan.is_done() {
        PlanState::NothingToDo
    } else if checks.iter().any(|c| !c.ok) {
        PlanState::Blocked
    } else if finalize_pending {
        PlanState::FinalizePending
    } else {
        PlanState::ChangesPending
    }
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

/// While another run holds the lock: wait for it, then this `plan` again.
fn wait_for(h: &crate::journal::lock::Holder, this: &Commands) -> NextStep {
    NextStep::new(
        Action::Wait,
        Some(this.again.clone()),
        format!(
            "the run in progress to end (host {}, pid {}, run {}, since {}): apply refuses (exit 6) while it holds the lock",
            h.host, h.pid, h.run_id, h.started_at
        ),
    )
}

/// What applying the plan would do next, as `apply` would do it; when it would refuse, what
/// to fix and then this `plan` again; while another run holds the lock (`running`), wait.
/// `saved`: the command that applies the plan saved by `--out`.
fn next_step(
    state: PlanState,
    plan_file: &Path,
    checks: &[crate::exec::engine::Check],
    refusal: Option<&AppError>,
    saved: &Option<String>,
    running: &Option<crate::journal::lock::Holder>,
) -> Option<NextStep> {
    // The command that was run, with its flags: what a next step runs again.
    let this = Commands::from_args(&std::env::args().collect::<Vec<_>>());
    if let Some(h) = running {
        return Some(wait_for(h, &this));
    }
    let plan = shell_word(&plan_file.display().to_string());
    // The flags this `plan` was given that the command must carry (`--retry-failed-target`).
    let kept = crate::next_step::Kept::of_process();
    Some(match state {
        PlanState::NothingToDo => return None,
        PlanState::ChangesPending => match saved {
            Some(apply) => NextStep::new(
                Action::Apply,
                Some(apply.clone()),
                "the steps above are saved; applying the saved plan runs exactly them, without asking (refused if the service or the plan file changed since)",
            ),
            None => NextStep::new(
                Action::Apply,
                Some(kept.carried_by(&format!("noderoll apply --plan {plan}"))),
                "the steps above are pending; apply shows them again and asks",
            ),
        },
        PlanState::FinalizePending => NextStep::new(
            Action::Finalize,
            Some(kept.carried_by(&format!("noderoll finalize --plan {plan} --yes"))),
            "every node runs the target; the old code version stays registered until finalize removes it ([safety] finalize = \"manual\"; the point of no return)",
        ),
        PlanState::Blocked => match refusal {
            Some(r) => crate::next_step::after_error(r, &this),
            None => {
                let failed: Vec<String> = checks
                    .iter()
                    .filter(|c| !c.ok)
                    .map(|c| format!("{}: {}", c.name, c.detail))
                    .collect();
                let refused = crate::exec::EngineError::Preflight { failed };
                crate::next_step::after_error(&AppError::Engine(refused), &this)
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

/// `--out`: save the plan for `noderoll apply FILE`; the command that applies it.
fn save(args: &PlanArgs, out: &Path, view: &ServiceView, plan: &Plan) -> Result<String, AppError> {
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
    // A saved plan applies without asking; the flags this plan was given go with it.
    let shown = shell_word(&out.display().to_string());
    Ok(crate::next_step::Kept::of_process().carried_by(&format!("noderoll apply {shown}")))
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
