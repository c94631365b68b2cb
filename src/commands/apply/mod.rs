//! `noderoll apply`: run the upgrade (and `rollback`, `finalize` and `channel apply`, which
//! are the same run aimed elsewhere).
//!
//! [`start`] takes the lock and reads the journal, [`adopt`] checks `--adopt`, [`rollback`]
//! builds rollbacks, [`finish`] prints the outcome; this file is the run's order of events.

mod adopt;
mod finish;
mod rollback;
mod start;

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

pub(crate) use finish::{finish, moved_service_urls};

use crate::cli::args::{ApplyArgs, FinalizeArgs, RollbackArgs};
use crate::errors::AppError;
use crate::exec::hooks::Notifier;
use crate::exec::{
    Engine, EngineError, FinalizePolicy, NullReporter, Outcome, Reporter, RunOptions,
};
use crate::exit_codes;
use crate::journal::JournalReporter;
use crate::output::printer::{Text, json_line};
use crate::output::progress::HumanReporter;
use crate::output::rollback::RollbackPlan;
use crate::output::summary::Summary;
use crate::output::{Printer, plan as render};
use crate::plan::spec::OnFailure;
use crate::plan::{Plan, ServiceView, Target};
use crate::wait::Cancel;
use rollback::{roll_back_after, rollback_engine, rollback_kind};
use start::{Started, command_name};

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
pub(crate) async fn run(
    args: &ApplyArgs,
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    execute(args, Mode::Apply, None, printer, cancel).await
}

/// A channel release to apply in place of the plan's `[target]`, with its verified package.
pub(crate) struct ReleaseRun {
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
pub(crate) async fn run_release(
    args: &ApplyArgs,
    release: Option<ReleaseRun>,
    rolling_back: bool,
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let mode = if rolling_back {
        Mode::Rollback { dry_run: false }
    } else {
        Mode::Apply
    };
    execute(args, mode, release, printer, cancel).await
}

/// `noderoll finalize`: the same run (lock, journal, reporters), allowed only the finalize step.
pub(crate) async fn finalize(
    args: &FinalizeArgs,
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let apply = ApplyArgs::for_plan(args.plan.clone(), args.yes, args.state_dir.clone());
    execute(&apply, Mode::Finalize, None, printer, cancel).await
}

/// `noderoll rollback`: the same run (lock, journal, reporters), aimed at the previous version.
pub(crate) async fn rollback(
    args: &RollbackArgs,
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let apply = ApplyArgs::for_plan(args.plan.clone(), args.yes, args.state_dir.clone());
    let mode = Mode::Rollback {
        dry_run: args.dry_run,
    };
    execute(&apply, mode, None, printer, cancel).await
}

/// A rollback's previous version and its kind (`clean` or `roll_forward`).
type RollingBack = Option<(Target, &'static str)>;

async fn execute(
    args: &ApplyArgs,
    mode: Mode,
    release: Option<ReleaseRun>,
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let mut run = Started::open(args, mode, release.as_ref(), &cancel)?;
    // Preview (and freshness of a saved plan) before anything changes.
    let mut preview = preview_engine(&run, mode, cancel.clone());
    let (found, view) = preview.observe().await?;
    // A validity the service refuses: said before the confirmation (exit 64).
    preview.node_cert_validity(&found).await?;
    // Governance starts at the nodes the service has now: every address the plan names may
    // have been retired (the engine re-aims it after each look of its own).
    run.w.gov.set_nodes(preview.known_nodes());
    let named = adopt::adopt_named(args.adopt.as_deref().unwrap_or_default(), &view)?;
    run.adopted.extend(named);
    let (plan, rolling_back) = match mode {
        Mode::Rollback { .. } => rollback_preview(&run, &view, &cancel)?,
        _ => {
            preview.options_mut().adopted = run.adopted.clone();
            if let (Some(s), Some(path)) = (&run.saved, &args.saved) {
                s.check_fresh(path, &view)?;
            }
            let plan = preview.plan_for(&view);
            if let Some(settled) = preview.settled(&plan) {
                let nodes = preview.known_nodes();
                let settled = settled.map_err(AppError::from);
                let (w, hint) = (&run.w, &run.resume_hint);
                let now = Instant::now();
                let ran = (settled, nodes, 0);
                return finish(w, Some(&found), printer, ran, now, hint, None).await;
            }
            (Some(plan), None)
        }
    };
    let Some(plan) = plan else {
        return nothing_to_roll_back(&run, printer);
    };
    let retrying_failed = check_failed_target(args, mode, &run)?;
    if let Mode::Rollback { dry_run: true } = mode {
        return print_rollback_plan(&run, &plan, &rolling_back, printer);
    }
    if run.saved.is_none() && !args.yes {
        ask(mode, &run, &plan, &rolling_back)?;
    }
    let reporters = Reporters::new(&run, printer, rolling_back.is_some());
    let started = Instant::now();
    let ran = match &rolling_back {
        Some(back) => run_rollback(&run, &view, back, &reporters, cancel).await?,
        None => run_forward(args, mode, &mut run, &reporters, cancel).await,
    };
    reporters.ended(&run, &ran.0, retrying_failed);
    let notifier = reporters.notifier.as_deref();
    let (w, hint) = (&run.w, &run.resume_hint);
    finish(w, Some(&found), printer, ran, started, hint, notifier).await
}

/// The preview's engine: the journal's view of earlier runs, reporting nowhere.
fn preview_engine(run: &Started, mode: Mode, cancel: Cancel) -> Engine {
    let options = RunOptions {
        in_flight: run.in_flight.clone(),
        resuming: run.resuming,
        adopting: run.adopt_all,
        finalize: (mode == Mode::Finalize).then_some(FinalizePolicy::Only),
        ..Default::default()
    };
    run.w.engine_with(options, Arc::new(NullReporter), cancel)
}

/// The engine of the run forward (an upgrade or a finalize).
fn forward_engine(
    args: &ApplyArgs,
    mode: Mode,
    run: &mut Started,
    reporter: Arc<dyn Reporter>,
    cancel: Cancel,
) -> Engine {
    let options = RunOptions {
        allow_downgrade: args.versions.allow_downgrade,
        allow_version_jump: args.versions.allow_version_jump,
        adopted: std::mem::take(&mut run.adopted),
        in_flight: std::mem::take(&mut run.in_flight),
        resuming: run.resuming,
        adopting: run.adopt_all,
        finalize: (mode == Mode::Finalize).then_some(FinalizePolicy::Only),
        ..Default::default()
    };
    run.w.engine_with(options, reporter, cancel)
}

/// A rollback's plan (none when nothing of the target is on the service), its version and
/// kind.
fn rollback_preview(
    run: &Started,
    view: &ServiceView,
    cancel: &Cancel,
) -> Result<(Option<Plan>, RollingBack), AppError> {
    let reporter = Arc::new(NullReporter);
    let found = rollback_engine(
        &run.w,
        (view, &run.journal),
        run.adopted.clone(),
        reporter,
        cancel.clone(),
    )?;
    Ok(match found {
        None => (None, None),
        Some((mut engine, to)) => {
            let plan = engine.plan_for(view);
            let kind = rollback_kind(&plan);
            ((!plan.is_done()).then_some(plan), Some((to, kind)))
        }
    })
}

/// Rollback with nothing of the target on the service.
fn nothing_to_roll_back(run: &Started, printer: Printer) -> Result<u8, AppError> {
    printer.print_record(&Text {
        human: format!(
            "Nothing to roll back: no node runs {} and it is not registered.\n",
            run.w.spec.target.describe()
        ),
        json: json_line(&Summary::nothing_to_do().record()),
    })?;
    Ok(exit_codes::SUCCESS)
}

/// `apply` of a target that failed here before: refused without `--retry-failed-target`;
/// with it, true (the journal is told when it succeeds).
fn check_failed_target(args: &ApplyArgs, mode: Mode, run: &Started) -> Result<bool, AppError> {
    if mode != Mode::Apply {
        return Ok(false);
    }
    let target = &run.w.spec.target;
    match failed_target_refusal(&run.journal, target, args.retry_failed_target) {
        Some(refusal) => Err(refusal),
        None => Ok(run.journal.failed_target(&target.key()).is_some()),
    }
}

/// The refusal of a target that failed on this service before and was rolled back, unless
/// `retry` (`--retry-failed-target`): the one check `apply` and `plan` share, so a plan says
/// it is blocked exactly when apply refuses.
pub(crate) fn failed_target_refusal(
    journal: &crate::journal::Journal,
    target: &Target,
    retry: bool,
) -> Option<AppError> {
    let (at, reason) = journal.failed_target(&target.key())?;
    (!retry).then(|| AppError::FailedTarget {
        target: target.describe(),
        at,
        reason,
    })
}

/// `rollback --dry-run`: the rollback's plan, and exit 2.
fn print_rollback_plan(
    run: &Started,
    plan: &Plan,
    rolling_back: &RollingBack,
    printer: Printer,
) -> Result<u8, AppError> {
    let (to, kind) = rolling_back
        .as_ref()
        .expect("a rollback plan has a version");
    let from = run.w.spec.target.reference();
    let commands = crate::next_step::Commands::of_run(&run.resume_hint, &run.w.plan.path);
    let next = crate::next_step::NextStep::new(
        crate::next_step::Action::RollBack,
        Some(commands.rollback()),
        format!("the steps above take the service back to {}", to.describe()),
    );
    crate::next_step::print_stderr(&next);
    printer.print_record(&RollbackPlan::new(from, to.reference(), kind, plan, next))?;
    Ok(exit_codes::CHANGES_PENDING)
}

/// Show the plan and ask; refused without a terminal to ask on.
fn ask(mode: Mode, run: &Started, plan: &Plan, rolling_back: &RollingBack) -> Result<(), AppError> {
    if !std::io::stdin().is_terminal() {
        let review = match mode {
            Mode::Apply => "review the steps first (`noderoll plan` shows them)",
            Mode::Finalize => "finalize removes the old code version: the point of no return",
            Mode::Rollback { .. } => "review the steps first (`--dry-run` shows them)",
        };
        return Err(crate::next_step::needs_confirmation(
            format!(
                "refusing to {} without confirmation: no terminal to ask on; review the plan and pass --yes",
                command_name(mode)
            ),
            review,
        ));
    }
    let heading = match rolling_back {
        Some((to, _)) => to.describe(),
        None => run.w.spec.target.describe(),
    };
    crate::output::printer::write_stdout(&render::render_human(
        &heading,
        plan,
        &[],
        rolling_back.is_some(),
    ))?;
    let question = match mode {
        Mode::Finalize => "Remove the old code version? This is the point of no return.",
        Mode::Rollback { .. } => "Roll back with these steps?",
        Mode::Apply => "Apply these steps to the service?",
    };
    if !confirm(question)? {
        return Err(AppError::Declined);
    }
    Ok(())
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

/// The run's reporters: progress (or JSON Lines), notifications, the journal.
struct Reporters {
    human: Option<Arc<HumanReporter>>,
    notifier: Option<Arc<Notifier>>,
    journaled: Arc<JournalReporter>,
    reporter: Arc<dyn Reporter>,
}

impl Reporters {
    fn new(run: &Started, printer: Printer, rollback: bool) -> Reporters {
        let w = &run.w;
        let (human, base) = printer.run_reporter();
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
        let journaled = Arc::new(JournalReporter::new(
            notified,
            run.journal.clone(),
            plan_sha,
        ));
        let reporter: Arc<dyn Reporter> = journaled.clone();
        if !run.adopted.is_empty() {
            let message = if rollback {
                format!(
                    "{} launched by the abandoned upgrade {} retired with it",
                    crate::english::count(run.adopted.len(), "node"),
                    if run.adopted.len() == 1 { "is" } else { "are" }
                )
            } else {
                format!(
                    "resuming: {} launched by an earlier run that did not finish {} adopted, not launched again",
                    crate::english::count(run.adopted.len(), "node"),
                    if run.adopted.len() == 1 { "is" } else { "are" }
                )
            };
            reporter.report(&crate::exec::Event::Warning { message });
        }
        Reporters {
            human,
            notifier,
            journaled,
            reporter,
        }
    }

    /// The run is over: end the progress display and the journal's run. A target that
    /// failed before and was reached now: say so in the journal, as `channel clear-failed`
    /// does.
    fn ended(&self, run: &Started, result: &Result<Outcome, AppError>, retrying_failed: bool) {
        if let Some(h) = &self.human {
            h.finish();
        }
        self.journaled.ended(finish::outcome_of(result).0);
        if retrying_failed
            && matches!(result, Ok(Outcome::Upgraded { .. }))
            && let Err(e) = run.journal.append(&crate::journal::Record::FailedCleared {
                at: jiff::Timestamp::now().to_string(),
                target: Some(run.w.spec.target.reference().into()),
            })
        {
            tracing::error!("{}", crate::errors::render(&e));
        }
    }
}

/// The result of a run, the service's nodes as it last saw them and the steps it started
/// (an automatic rollback's included).
pub(crate) type Ran = (Result<Outcome, AppError>, Vec<crate::ccf::NodeAddr>, usize);

/// `noderoll rollback` (or the finish of one): back to `to`.
async fn run_rollback(
    run: &Started,
    view: &ServiceView,
    (to, kind): &(Target, &'static str),
    reporters: &Reporters,
    cancel: Cancel,
) -> Result<Ran, AppError> {
    let w = &run.w;
    let reporter = reporters.reporter.clone();
    let found = rollback_engine(
        w,
        (view, &run.journal),
        run.adopted.clone(),
        reporter.clone(),
        cancel,
    )?;
    let (mut engine, _) = found.expect("the preview found a rollback to do");
    reporter.report(&crate::exec::Event::RollbackStarted {
        run_id: engine.run_id().to_string(),
        from: w.spec.target.reference(),
        to: to.reference(),
        kind: kind.to_string(),
        reason: "requested with `noderoll rollback`".into(),
    });
    let result = engine.run().await.map(|o| match o {
        Outcome::Upgraded { steps } => Outcome::RolledBack { steps },
        other => other,
    });
    let executed = engine.executed();
    Ok((
        result.map_err(AppError::from),
        engine.known_nodes(),
        executed,
    ))
}

/// The upgrade (or finalize); with `[safety] on_failure = "rollback"`, back to the previous
/// version when a new node fails.
async fn run_forward(
    args: &ApplyArgs,
    mode: Mode,
    run: &mut Started,
    reporters: &Reporters,
    cancel: Cancel,
) -> Ran {
    let reporter = reporters.reporter.clone();
    let mut engine = forward_engine(args, mode, run, reporter.clone(), cancel.clone());
    let w = &run.w;
    let result = engine.run().await;
    match result {
        Err(failure @ EngineError::Step { new_node: true, .. })
            if mode == Mode::Apply && w.spec.safety.on_failure == OnFailure::Rollback =>
        {
            let journaled = &reporters.journaled;
            let (result, rollback_steps) = roll_back_after(
                w,
                (journaled, &run.journal),
                reporter,
                failure,
                &mut engine,
                cancel,
            )
            .await;
            let executed = engine.executed() + rollback_steps;
            (result, engine.known_nodes(), executed)
        }
        other => {
            let executed = engine.executed();
            (
                other.map_err(AppError::from),
                engine.known_nodes(),
                executed,
            )
        }
    }
}
