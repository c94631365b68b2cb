//! `noderoll apply`: run the upgrade.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::cli::args::{ApplyArgs, FinalizeArgs, RollbackArgs};
use crate::cli::dispatch::print_stdout;
use crate::commands::upgrade::{Wiring, wire};
use crate::errors::AppError;
use crate::exec::hooks::Notifier;
use crate::exec::{Engine, EngineError, FinalizePolicy, NullReporter, Outcome, Reporter};
use crate::exit_codes;
use crate::observe::observe;
use crate::output::events::{JsonReporter, envelope, write_line};
use crate::output::progress::HumanReporter;
use crate::output::{OutputFormat, plan as render, status};
use crate::plan::planner::Abandon;
use crate::plan::rollback::{RollbackFrom, previous_target};
use crate::plan::saved::SavedPlan;
use crate::plan::spec::{NotifyKind, OnFailure};
use crate::plan::{Step, Target};
use crate::wait::Cancel;

/// What a run may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `noderoll apply`.
    Apply,
    /// `noderoll finalize`: only the finalize step.
    Finalize,
    /// `noderoll rollback`.
    Rollback {
        /// `--dry-run`.
        dry_run: bool,
    },
}

/// Apply a plan file or a saved plan.
pub async fn run(
    args: &ApplyArgs,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
    execute(args, Mode::Apply, None, format, quiet, cancel).await
}

/// A channel release to apply in place of the plan's `[target]`, with its verified package.
pub struct ReleaseRun {
    /// The release (recorded in the journal so a restart resumes it).
    pub release: crate::channel::Release,
    /// Its verified package, handed to the launcher as `NODEROLL_PACKAGE`.
    pub package: Option<std::path::PathBuf>,
    /// The command that continues it if interrupted.
    pub resume_hint: String,
}

/// `noderoll channel apply`: the same run as `apply`, aimed at a channel's release (or the
/// plan's own `[target]` without one); or, `rolling_back`, the finish of a rollback that an
/// interrupted run had started.
pub async fn run_release(
    args: &ApplyArgs,
    release: Option<ReleaseRun>,
    rolling_back: bool,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let mode = if rolling_back {
        Mode::Rollback { dry_run: false }
    } else {
        Mode::Apply
    };
    execute(args, mode, release, format, quiet, cancel).await
}

/// `noderoll finalize`: the same run (lock, journal, reporters), allowed only the finalize step.
pub async fn finalize(
    args: &FinalizeArgs,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let apply = ApplyArgs::for_plan(args.plan.clone(), args.yes, args.state_dir.clone());
    execute(&apply, Mode::Finalize, None, format, quiet, cancel).await
}

/// `noderoll rollback`: the same run (lock, journal, reporters), aimed at the previous version.
pub async fn rollback(
    args: &RollbackArgs,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let apply = ApplyArgs::for_plan(args.plan.clone(), args.yes, args.state_dir.clone());
    let mode = Mode::Rollback {
        dry_run: args.dry_run,
    };
    execute(&apply, mode, None, format, quiet, cancel).await
}

/// The engine of a rollback of `w`'s target, if there is one to do, and the version it goes
/// back to. `launched` are the nodes the abandoned upgrade launched.
fn rollback_engine(
    w: &Wiring,
    view: &crate::plan::ServiceView,
    launched: Vec<crate::plan::Launched>,
    reporter: Arc<dyn Reporter>,
    cancel: Cancel,
) -> Result<Option<(Engine, Target)>, AppError> {
    let previous = match previous_target(view, &w.spec) {
        RollbackFrom::NothingToRollBack => return Ok(None),
        RollbackFrom::Impossible(why) => return Err(AppError::RollbackImpossible(why)),
        RollbackFrom::To(t) => t,
    };
    let spec = crate::plan::UpgradeSpec {
        target: previous.clone(),
        ..w.spec.clone()
    };
    let mut engine = w.engine_for(spec, reporter, cancel);
    engine.set_rollback(Abandon {
        target: w.spec.target.clone(),
        launched,
    });
    Ok(Some((engine, previous)))
}

/// `clean` when nothing of the previous build has to be launched, else `roll_forward`.
fn rollback_kind(plan: &crate::plan::Plan) -> &'static str {
    if plan
        .steps
        .iter()
        .any(|s| matches!(s.step, Step::LaunchNodes { .. } | Step::TrustNodes { .. }))
    {
        "roll_forward"
    } else {
        "clean"
    }
}

async fn execute(
    args: &ApplyArgs,
    mode: Mode,
    release: Option<ReleaseRun>,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let state_dir = args.state_dir.resolve();
    let (mut w, saved) = match (&args.saved, &args.plan) {
        (Some(saved), _) => {
            let s = SavedPlan::load(saved)?;
            (wire(&s.plan_file, Some(&state_dir), &cancel)?, Some(s))
        }
        (None, Some(plan)) => {
            let target = release.as_ref().map(|r| r.release.target());
            let mut w = crate::commands::upgrade::wire_for(
                plan,
                target.as_ref(),
                Some(&state_dir),
                &cancel,
            )?;
            w.package = release.as_ref().and_then(|r| r.package.clone());
            (w, None)
        }
        (None, None) => {
            return Err(AppError::Usage(
                "give a plan: `noderoll apply --plan FILE` or `noderoll apply SAVED.json`".into(),
            ));
        }
    };
    let command = match mode {
        Mode::Apply => "apply",
        Mode::Finalize => "finalize",
        Mode::Rollback { .. } => "rollback",
    };
    let resume_hint = match (&release, &args.saved, &args.plan) {
        (Some(r), _, _) => r.resume_hint.clone(),
        (None, _, Some(p)) => format!("noderoll {command} --plan {} --yes", p.display()),
        (None, Some(s), None) => format!(
            "noderoll apply --plan {} --yes (the saved plan {} is now stale)",
            w.plan.path.display(),
            s.display()
        ),
        _ => String::new(),
    };
    // Never two runs on one service: the lock is held until this command ends.
    let state = crate::journal::ServiceState::open(&state_dir, &w.service_cert_sha256)?;
    let run_id = format!("{:x}", jiff::Timestamp::now().as_millisecond());
    let _lock = state.lock(&run_id, |stale| {
        tracing::warn!(
            "taking over the lock of run {} (pid {} on {}, since {}), which is no longer running",
            stale.run_id,
            stale.pid,
            stale.host,
            stale.started_at
        );
    })?;
    let journal = Arc::new(crate::journal::Journal::open(&state)?);
    if let Some(r) = &release {
        // Before anything can change: a restart must find which release this was.
        journal.append(&crate::journal::Record::ReleaseChosen {
            run_id: run_id.clone(),
            at: jiff::Timestamp::now().to_string(),
            release: r.release.clone(),
        })?;
    }
    let (mut adopted, in_flight) = journal.unfinished_launches();
    let resuming = journal.in_progress();
    let adopt_all = args.adopt.as_ref().is_some_and(|ids| ids.is_empty());
    // Preview (and freshness of a saved plan) before anything changes.
    let mut preview = w.engine(Arc::new(NullReporter), cancel.clone());
    preview.adopt_in_flight(in_flight.clone());
    preview.set_resuming(resuming);
    preview.set_adopting(adopt_all);
    if mode == Mode::Finalize {
        preview.set_finalize(FinalizePolicy::Only);
    }
    let (found, view) = preview.observe().await?;
    // Governance starts at the nodes the service has now: every address the plan names may
    // have been retired (the engine re-aims it after each look of its own).
    w.gov.set_nodes(preview.known_nodes());
    adopted.extend(adopt_named(
        args.adopt.as_deref().unwrap_or_default(),
        &view,
    )?);
    let mut rolling_back = None;
    let plan = match mode {
        Mode::Rollback { .. } => {
            match rollback_engine(
                &w,
                &view,
                adopted.clone(),
                Arc::new(NullReporter),
                cancel.clone(),
            )? {
                None => None,
                Some((mut engine, to)) => {
                    let plan = engine.plan_for(&view);
                    rolling_back = Some((to, rollback_kind(&plan)));
                    (!plan.is_done()).then_some(plan)
                }
            }
        }
        _ => {
            preview.adopt(adopted.clone());
            if let Some(s) = &saved {
                s.check_fresh(&view)?;
            }
            let plan = preview.plan_for(&view);
            if let Some(settled) = preview.settled(&plan) {
                let nodes = preview.known_nodes();
                let settled = settled.map_err(AppError::from);
                return finish(
                    &w,
                    &nodes,
                    Some(&found),
                    format,
                    settled,
                    Instant::now(),
                    &resume_hint,
                    None,
                    quiet,
                )
                .await;
            }
            Some(plan)
        }
    };
    let Some(plan) = plan else {
        // Rollback with nothing of the target on the service.
        if format == OutputFormat::Human {
            print_stdout(&format!(
                "Nothing to roll back: no node runs {} and it is not registered.\n",
                w.spec.target.describe()
            ))?;
        } else {
            write_line(&envelope(
                json!({"type": "summary", "outcome": "nothing_to_do", "steps": 0}),
            ));
        }
        return Ok(exit_codes::SUCCESS);
    };
    let retrying_failed = mode == Mode::Apply
        && args.retry_failed_target
        && journal.failed_target(&w.spec.target.key()).is_some();
    if mode == Mode::Apply
        && !args.retry_failed_target
        && let Some((at, reason)) = journal.failed_target(&w.spec.target.key())
    {
        return Err(AppError::FailedTarget {
            target: w.spec.target.describe(),
            at,
            reason,
        });
    }
    if let Mode::Rollback { dry_run: true } = mode {
        let (to, kind) = rolling_back
            .as_ref()
            .expect("a rollback plan has a version");
        match format {
            OutputFormat::Json => write_line(&envelope(json!({
                "type": "rollback_plan",
                "from": w.spec.target.describe(),
                "to": to.describe(),
                "kind": kind,
                "plan": plan,
            }))),
            OutputFormat::Human => print_stdout(&format!(
                "Rollback ({kind}) from {} to {}:\n{}",
                w.spec.target.describe(),
                to.describe(),
                render::render_human(&to.describe(), &plan, &[])
            ))?,
        }
        return Ok(exit_codes::CHANGES_PENDING);
    }
    if saved.is_none() && !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(AppError::Usage(format!(
                "refusing to {command} without confirmation: no terminal to ask on; review the plan and pass --yes"
            )));
        }
        let heading = match &rolling_back {
            Some((to, _)) => to.describe(),
            None => w.spec.target.describe(),
        };
        print_stdout(&render::render_human(&heading, &plan, &[]))?;
        let question = match mode {
            Mode::Finalize => "Remove the old code version? This is the point of no return.",
            Mode::Rollback { .. } => "Roll back with these steps?",
            Mode::Apply => "Apply these steps to the service?",
        };
        if !confirm(question)? {
            return Err(AppError::Declined);
        }
    }
    let human = matches!(format, OutputFormat::Human).then(|| Arc::new(HumanReporter::new(quiet)));
    let base: Arc<dyn Reporter> = match &human {
        Some(h) => h.clone(),
        None => Arc::new(JsonReporter),
    };
    let notifier = w
        .spec
        .notify
        .clone()
        .map(|n| Arc::new(Notifier::new(base.clone(), n, &w.plan.dir)));
    let notified: Arc<dyn Reporter> = match &notifier {
        Some(n) => n.clone(),
        None => base,
    };
    let plan_sha = crate::plan::saved::file_sha256(&w.plan.path).unwrap_or_default();
    let journaled = Arc::new(crate::journal::JournalReporter::new(
        notified,
        journal.clone(),
        plan_sha,
    ));
    let reporter: Arc<dyn Reporter> = journaled.clone();
    if !adopted.is_empty() {
        reporter.report(&crate::exec::Event::Warning {
            message: format!(
                "resuming: {} node(s) launched by an earlier run that did not finish are adopted, not launched again",
                adopted.len()
            ),
        });
    }
    let started = Instant::now();
    let (result, nodes) = if let Some((to, kind)) = &rolling_back {
        reporter.report(&crate::exec::Event::RollbackStarted {
            from: w.spec.target.describe(),
            to: to.describe(),
            kind: kind.to_string(),
            reason: "requested with `noderoll rollback`".into(),
        });
        let (mut engine, _) = rollback_engine(&w, &view, adopted, reporter, cancel)?
            .expect("the preview found a rollback to do");
        let result = engine.run().await.map(|o| match o {
            Outcome::Upgraded { steps } => Outcome::RolledBack { steps },
            other => other,
        });
        (result.map_err(AppError::from), engine.known_nodes())
    } else {
        let mut engine = w.engine(reporter.clone(), cancel.clone());
        engine.adopt(adopted);
        engine.adopt_in_flight(in_flight);
        engine.set_resuming(resuming);
        engine.set_adopting(adopt_all);
        if mode == Mode::Finalize {
            engine.set_finalize(FinalizePolicy::Only);
        }
        engine.allow_versions(
            args.versions.allow_downgrade,
            args.versions.allow_version_jump,
        );
        let result = engine.run().await;
        match result {
            Err(failure @ EngineError::Step { new_node: true, .. })
                if mode == Mode::Apply && w.spec.safety.on_failure == OnFailure::Rollback =>
            {
                let result =
                    roll_back_after(&w, &journaled, reporter, failure, &mut engine, cancel).await;
                (result, engine.known_nodes())
            }
            other => (other.map_err(AppError::from), engine.known_nodes()),
        }
    };
    if let Some(h) = &human {
        h.finish();
    }
    journaled.ended(outcome_of(&result).0);
    // A target that failed before and was reached now: say so in the journal, as
    // `channel clear-failed` does.
    if retrying_failed
        && matches!(result, Ok(Outcome::Upgraded { .. }))
        && let Err(e) = journal.append(&crate::journal::Record::FailedCleared {
            at: jiff::Timestamp::now().to_string(),
        })
    {
        tracing::error!("{}", crate::errors::render(&e));
    }
    finish(
        &w,
        &nodes,
        Some(&found),
        format,
        result,
        started,
        &resume_hint,
        notifier.as_deref(),
        quiet,
    )
    .await
}

/// `[safety] on_failure = "rollback"`: a new node failed; record the target as failed and
/// go back to the previous version with the same reporters and journal.
async fn roll_back_after(
    w: &Wiring,
    journaled: &crate::journal::JournalReporter,
    reporter: Arc<dyn Reporter>,
    failure: EngineError,
    failed_run: &mut Engine,
    cancel: Cancel,
) -> Result<Outcome, AppError> {
    let reason = crate::errors::one_line(&failure);
    journaled.target_failed(&w.spec.target, &reason);
    // The upgrade's run ends here; the rollback is a run of its own.
    journaled.ended("failed");
    let failed = |rollback: AppError| AppError::RollbackFailed {
        failure: reason.clone(),
        rollback: Box::new(rollback),
    };
    // The failed run knows where the service's nodes are now, and what it launched.
    let view = match failed_run.observe().await {
        Ok((_, v)) => v,
        Err(e) => return Err(failed(e.into())),
    };
    let launched = failed_run.launched();
    let (mut engine, to) = match rollback_engine(w, &view, launched, reporter.clone(), cancel) {
        Ok(Some(found)) => found,
        // Nothing of the target reached the service: nothing to undo.
        Ok(None) => {
            return Err(AppError::RolledBack {
                target: w.spec.target.describe(),
                to: "the previous version".into(),
                failure: Box::new(failure),
            });
        }
        Err(e) => return Err(failed(e)),
    };
    let kind = rollback_kind(&engine.plan_for(&view));
    reporter.report(&crate::exec::Event::RollbackStarted {
        from: w.spec.target.describe(),
        to: to.describe(),
        kind: kind.into(),
        reason: reason.clone(),
    });
    match engine.run().await {
        Ok(_) => Err(AppError::RolledBack {
            target: w.spec.target.describe(),
            to: to.describe(),
            failure: Box::new(failure),
        }),
        Err(e) => Err(failed(e.into())),
    }
}

/// The outcome word of a result (journal, summary) and whether it is an interruption.
fn outcome_of(result: &Result<Outcome, AppError>) -> (&'static str, bool) {
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

/// `--adopt`: each id (or unique prefix) must name a Pending node of the service.
fn adopt_named(
    ids: &[String],
    view: &crate::plan::ServiceView,
) -> Result<Vec<crate::plan::Launched>, AppError> {
    let pending: Vec<&crate::plan::NodeView> = view
        .nodes
        .iter()
        .filter(|n| n.status == crate::ccf::types::NodeStatus::Pending)
        .collect();
    let listed = || {
        if pending.is_empty() {
            "the service has no Pending node".to_string()
        } else {
            let ids: Vec<&str> = pending.iter().map(|n| n.node_id.as_str()).collect();
            format!("Pending nodes: {}", ids.join(", "))
        }
    };
    ids.iter()
        .map(|id| {
            let id = id.trim().to_ascii_lowercase();
            if id.len() < 8 {
                return Err(AppError::Usage(format!(
                    "--adopt {id}: give the node id or at least its first 8 characters"
                )));
            }
            let found: Vec<_> = pending
                .iter()
                .filter(|n| n.node_id.starts_with(&id))
                .collect();
            match found.as_slice() {
                [n] => Ok(crate::plan::Launched {
                    node_id: Some(n.node_id.clone()),
                    rpc_address: n.address.clone(),
                }),
                [] => Err(AppError::Usage(format!(
                    "--adopt {id}: no Pending node has that id ({})",
                    listed()
                ))),
                _ => Err(AppError::Usage(format!(
                    "--adopt {id}: several Pending nodes start with that; give more of the id"
                ))),
            }
        })
        .collect()
}

fn confirm(question: &str) -> Result<bool, AppError> {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} Only 'yes' is accepted: ");
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(AppError::Output)?;
    Ok(line.trim() == "yes")
}

/// The `[service] url` to use from now on, when the plan's no longer leads to the service:
/// none of its addresses is a Trusted node's any more, and either they named nodes `before`
/// the run (which retired them) or this command reached the service only through the
/// addresses kept in the state directory. A load balancer or DNS name in `[service] url` is
/// not a node's address and still answers (`before` was read through it): nothing to update.
pub fn moved_service_urls(
    w: &Wiring,
    before: Option<&crate::observe::Observation>,
    after: &crate::observe::Observation,
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

/// The lines that tell people which `[service] url` to use from now on.
pub fn render_moved(plan: &std::path::Path, urls: &[crate::ccf::NodeAddr]) -> String {
    format!(
        "None of the addresses in [service] url of {} is a node of the service any more: the nodes it named were retired.\nUpdate [service] url: {}\n",
        plan.display(),
        crate::observe::url_line(urls)
    )
}

/// Print the outcome (summary record or table) and map it to an exit code. `before`: the
/// service as the run found it.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    w: &Wiring,
    nodes: &[crate::ccf::NodeAddr],
    before: Option<&crate::observe::Observation>,
    format: OutputFormat,
    result: Result<Outcome, AppError>,
    started: Instant,
    resume_hint: &str,
    notifier: Option<&Notifier>,
    quiet: bool,
) -> Result<u8, AppError> {
    let elapsed = started.elapsed().as_secs_f64();
    // `-q`: errors only (they go to stderr, rendered once by the caller).
    let human = format == OutputFormat::Human && !quiet;
    let after = observe(&w.client, &w.probe, nodes).await.ok();
    let moved = after
        .as_ref()
        .and_then(|a| moved_service_urls(w, before, a));
    let (outcome, interrupted) = outcome_of(&result);
    let error = match &result {
        Ok(_) => None,
        Err(e) if interrupted => Some(e.to_string()),
        Err(e) => Some(crate::errors::render(e)),
    };
    let summary = envelope(json!({
        "type": "summary",
        "outcome": outcome,
        "steps": match &result {
            Ok(Outcome::Upgraded { steps }
                | Outcome::FinalizePending { steps }
                | Outcome::RolledBack { steps }) => *steps,
            _ => 0,
        },
        "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
        "error": error,
        "resume": interrupted.then_some(resume_hint),
        "service": after.as_ref().map(status::document),
        "service_urls": moved
            .as_ref()
            .map(|m| m.iter().map(crate::ccf::NodeAddr::url).collect::<Vec<_>>()),
    }));
    if let Some(n) = notifier {
        n.send(
            match (&result, outcome) {
                (_, "rolled_back") => NotifyKind::RolledBack,
                (Ok(_), _) => NotifyKind::Finished,
                (Err(_), _) => NotifyKind::Failed,
            },
            summary.clone(),
        );
        n.flush().await;
    }
    let shows_service = matches!(
        &result,
        Ok(Outcome::Upgraded { .. } | Outcome::RolledBack { .. } | Outcome::FinalizePending { .. })
            | Err(AppError::RolledBack { .. })
    );
    if human
        && shows_service
        && let Some(a) = &after
    {
        print_stdout(&status::render_human(a))?;
    }
    match format {
        OutputFormat::Json => write_line(&summary),
        OutputFormat::Human if !human => {}
        OutputFormat::Human => match &result {
            Ok(Outcome::NothingToDo) => print_stdout(&format!(
                "Nothing to do: the service already runs {}.\n",
                w.spec.target.describe()
            ))?,
            Ok(Outcome::Upgraded { steps }) => {
                print_stdout(&format!(
                    "Upgraded to {} in {elapsed:.1}s ({}).\n",
                    w.spec.target.describe(),
                    crate::output::count(*steps, "step")
                ))?;
            }
            Ok(Outcome::RolledBack { steps }) => {
                print_stdout(&format!(
                    "Rolled back from {} in {elapsed:.1}s ({}).\n",
                    w.spec.target.describe(),
                    crate::output::count(*steps, "step")
                ))?;
            }
            Ok(Outcome::FinalizePending { steps }) => {
                print_stdout(&format!(
                    "Every node runs {} ({} in {elapsed:.1}s). The old code version is still registered ([safety] finalize = \"manual\"); when satisfied, remove it with: noderoll finalize --plan {} --yes\n",
                    w.spec.target.describe(),
                    crate::output::count(*steps, "step"),
                    w.plan.path.display()
                ))?;
            }
            Err(_) if interrupted => print_stdout(&format!(
                "Interrupted at a safe point after {elapsed:.1}s. To continue: {resume_hint}\n"
            ))?,
            Err(_) => {}
        },
    }
    if human && let Some(urls) = &moved {
        print_stdout(&render_moved(&w.plan.path, urls))?;
    }
    result.map(|_| exit_codes::SUCCESS)
}
