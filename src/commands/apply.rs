//! `noderoll apply`: run the upgrade.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::cli::args::{ApplyArgs, FinalizeArgs, VersionArgs};
use crate::cli::dispatch::print_stdout;
use crate::commands::upgrade::{Wiring, wire};
use crate::errors::AppError;
use crate::exec::hooks::Notifier;
use crate::exec::{EngineError, FinalizePolicy, NullReporter, Outcome, Reporter};
use crate::exit_codes;
use crate::observe::observe;
use crate::output::events::{JsonReporter, envelope, write_line};
use crate::output::progress::HumanReporter;
use crate::output::{OutputFormat, plan as render, status};
use crate::plan::saved::SavedPlan;
use crate::plan::spec::NotifyKind;
use crate::wait::Cancel;

/// Apply a plan file or a saved plan.
pub async fn run(
    args: &ApplyArgs,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
    execute(args, None, format, quiet, cancel).await
}

/// `noderoll finalize`: the same run (lock, journal, reporters), allowed only the finalize step.
pub async fn finalize(
    args: &FinalizeArgs,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let apply = ApplyArgs {
        saved: None,
        plan: Some(args.plan.clone()),
        yes: args.yes,
        versions: VersionArgs::default(),
        adopt: Vec::new(),
        state_dir: args.state_dir.clone(),
    };
    execute(&apply, Some(FinalizePolicy::Only), format, quiet, cancel).await
}

async fn execute(
    args: &ApplyArgs,
    finalize: Option<FinalizePolicy>,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let (w, saved) = match (&args.saved, &args.plan) {
        (Some(saved), _) => {
            let s = SavedPlan::load(saved)?;
            (wire(&s.plan_file, &cancel)?, Some(s))
        }
        (None, Some(plan)) => (wire(plan, &cancel)?, None),
        (None, None) => {
            return Err(AppError::Usage(
                "give a plan: `noderoll apply --plan FILE` or `noderoll apply SAVED.json`".into(),
            ));
        }
    };
    let command = if finalize == Some(FinalizePolicy::Only) {
        "finalize"
    } else {
        "apply"
    };
    let resume_hint = match (&args.saved, &args.plan) {
        (_, Some(p)) => format!("noderoll {command} --plan {} --yes", p.display()),
        (Some(s), None) => format!(
            "noderoll apply --plan {} --yes (the saved plan {} is now stale)",
            w.plan.path.display(),
            s.display()
        ),
        _ => String::new(),
    };
    // Never two runs on one service: the lock is held until this command ends.
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(crate::journal::lock::default_state_dir);
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
    let (mut adopted, in_flight) = journal.unfinished_launches();
    let resuming = journal.has_unfinished_run();
    // Preview (and freshness of a saved plan) before anything changes.
    let mut preview = w.engine(Arc::new(NullReporter), cancel.clone());
    preview.adopt_in_flight(in_flight);
    preview.set_resuming(resuming);
    if let Some(policy) = finalize {
        preview.set_finalize(policy);
    }
    let (_, view) = preview.observe().await?;
    adopted.extend(adopt_named(&args.adopt, &view)?);
    preview.adopt(adopted.clone());
    if let Some(s) = &saved {
        s.check_fresh(&view)?;
    }
    let plan = preview.plan_for(&view);
    if let Some(settled) = preview.settled(&plan) {
        let nodes = preview.known_nodes();
        return finish(
            &w,
            &nodes,
            format,
            settled,
            Instant::now(),
            &resume_hint,
            None,
        )
        .await;
    }
    if saved.is_none() && !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(AppError::Usage(
                "refusing to apply without confirmation: no terminal to ask on; review `noderoll plan` and pass --yes".into(),
            ));
        }
        print_stdout(&render::render_human(&w.spec.target.describe(), &plan, &[]))?;
        let question = if command == "finalize" {
            "Remove the old code version? This is the point of no return."
        } else {
            "Apply these steps to the service?"
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
    let mut engine = w.engine(reporter, cancel);
    engine.adopt(adopted);
    engine.adopt_in_flight(in_flight);
    engine.set_resuming(resuming);
    if let Some(policy) = finalize {
        engine.set_finalize(policy);
    }
    engine.allow_versions(
        args.versions.allow_downgrade,
        args.versions.allow_version_jump,
    );
    let started = Instant::now();
    let result = engine.run().await;
    if let Some(h) = &human {
        h.finish();
    }
    journaled.ended(match &result {
        Ok(Outcome::NothingToDo) => "nothing_to_do",
        Ok(Outcome::Upgraded { .. }) => "upgraded",
        Ok(Outcome::FinalizePending { .. }) => "finalize_pending",
        Err(EngineError::Cancelled { .. }) => "interrupted",
        Err(_) => "failed",
    });
    finish(
        &w,
        &engine.known_nodes(),
        format,
        result,
        started,
        &resume_hint,
        notifier.as_deref(),
    )
    .await
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

/// Print the outcome (summary record or table) and map it to an exit code.
pub async fn finish(
    w: &Wiring,
    nodes: &[crate::ccf::NodeAddr],
    format: OutputFormat,
    result: Result<Outcome, EngineError>,
    started: Instant,
    resume_hint: &str,
    notifier: Option<&Notifier>,
) -> Result<u8, AppError> {
    let elapsed = started.elapsed().as_secs_f64();
    let after = observe(&w.client, &w.probe, nodes).await.ok();
    let (outcome, error) = match &result {
        Ok(Outcome::NothingToDo) => ("nothing_to_do", None),
        Ok(Outcome::Upgraded { .. }) => ("upgraded", None),
        Ok(Outcome::FinalizePending { .. }) => ("finalize_pending", None),
        Err(EngineError::Cancelled { .. }) => {
            ("interrupted", result.as_ref().err().map(|e| e.to_string()))
        }
        Err(e) => ("failed", Some(crate::errors::render(e))),
    };
    let summary = envelope(json!({
        "type": "summary",
        "outcome": outcome,
        "steps": match &result {
            Ok(Outcome::Upgraded { steps } | Outcome::FinalizePending { steps }) => *steps,
            _ => 0,
        },
        "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
        "error": error,
        "resume": (outcome == "interrupted").then_some(resume_hint),
        "service": after.as_ref().map(status::document),
    }));
    if let Some(n) = notifier {
        n.send(
            if result.is_ok() {
                NotifyKind::Finished
            } else {
                NotifyKind::Failed
            },
            summary.clone(),
        );
        n.flush().await;
    }
    match format {
        OutputFormat::Json => write_line(&summary),
        OutputFormat::Human => match &result {
            Ok(Outcome::NothingToDo) => print_stdout(&format!(
                "Nothing to do: the service already runs {}.\n",
                w.spec.target.describe()
            ))?,
            Ok(Outcome::Upgraded { steps }) => {
                if let Some(a) = &after {
                    print_stdout(&status::render_human(a))?;
                }
                print_stdout(&format!(
                    "Upgraded to {} in {elapsed:.1}s ({steps} steps).\n",
                    w.spec.target.describe()
                ))?;
            }
            Ok(Outcome::FinalizePending { steps }) => {
                if let Some(a) = &after {
                    print_stdout(&status::render_human(a))?;
                }
                print_stdout(&format!(
                    "Every node runs {} ({steps} steps in {elapsed:.1}s). The old code version is still registered ([safety] finalize = \"manual\"); when satisfied, remove it with: noderoll finalize --plan {} --yes\n",
                    w.spec.target.describe(),
                    w.plan.path.display()
                ))?;
            }
            Err(EngineError::Cancelled { .. }) => print_stdout(&format!(
                "Interrupted at a safe point after {elapsed:.1}s. To continue: {resume_hint}\n"
            ))?,
            Err(_) => {}
        },
    }
    result.map(|_| exit_codes::SUCCESS).map_err(AppError::from)
}
