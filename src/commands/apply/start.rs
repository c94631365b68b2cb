//! What every run of `apply`, `rollback`, `finalize` and `channel apply` sets up before it
//! looks at the service: the wiring, the lock, the journal and what the journal says an
//! earlier run left.

use std::path::Path;
use std::sync::Arc;

use super::{Mode, ReleaseRun};
use crate::cli::args::ApplyArgs;
use crate::commands::upgrade::{Wiring, wire};
use crate::errors::AppError;
use crate::journal::{Journal, Record, RunLock, ServiceState};
use crate::plan::Launched;
use crate::plan::saved::SavedPlan;
use crate::wait::Cancel;

/// A run, set up: the service's lock is held as long as this lives.
pub(crate) struct Started {
    /// The plan file, clients and governance.
    pub(crate) w: Wiring,
    /// The saved plan being applied, if any.
    pub(crate) saved: Option<SavedPlan>,
    /// This service's journal.
    pub(crate) journal: Arc<Journal>,
    /// The command that continues this run if it is interrupted.
    pub(crate) resume_hint: String,
    /// Nodes an earlier run launched and this one takes over.
    pub(crate) adopted: Vec<Launched>,
    /// Launches an earlier run started and never saw finish.
    pub(crate) in_flight: Vec<String>,
    /// The journal has a run in progress.
    pub(crate) resuming: bool,
    /// `--adopt` alone: take over every Pending node attesting the target.
    pub(crate) adopt_all: bool,
    /// Never two runs on one service: held until the command ends.
    _lock: RunLock,
}

/// The `apply` (or `finalize`, `rollback`) command's name.
pub(crate) fn command_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Apply => "apply",
        Mode::Finalize => "finalize",
        Mode::Rollback { .. } => "rollback",
    }
}

impl Started {
    /// Wire the plan (or saved plan), take the service's lock, open its journal.
    pub(crate) fn open(
        args: &ApplyArgs,
        mode: Mode,
        release: Option<&ReleaseRun>,
        cancel: &Cancel,
    ) -> Result<Started, AppError> {
        let state_dir = args.state_dir.resolve();
        let (w, saved) = wiring(args, release, &state_dir, cancel)?;
        let resume_hint = resume_hint(args, mode, release, &w);
        let state = ServiceState::open(&state_dir, &w.service_cert_sha256)?;
        let run_id = format!("{:x}", jiff::Timestamp::now().as_millisecond());
        let lock = state.lock(&run_id, |stale| {
            tracing::warn!(
                "taking over the lock of run {} (pid {} on {}, since {}), which is no longer running",
                stale.run_id,
                stale.pid,
                stale.host,
                stale.started_at
            );
        })?;
        let journal = Arc::new(Journal::open(&state)?);
        if let Some(r) = release {
            // Before anything can change: a restart must find which release this was.
            journal.append(&Record::ReleaseChosen {
                run_id: run_id.clone(),
                at: jiff::Timestamp::now().to_string(),
                release: r.release.clone(),
            })?;
        }
        let (adopted, in_flight) = journal.unfinished_launches();
        let resuming = journal.in_progress();
        Ok(Started {
            w,
            saved,
            resume_hint,
            adopted,
            in_flight,
            resuming,
            adopt_all: args.adopt.as_ref().is_some_and(|ids| ids.is_empty()),
            journal,
            _lock: lock,
        })
    }
}

/// The wiring of a saved plan, or of a plan file (aimed at `release` when given).
fn wiring(
    args: &ApplyArgs,
    release: Option<&ReleaseRun>,
    state_dir: &Path,
    cancel: &Cancel,
) -> Result<(Wiring, Option<SavedPlan>), AppError> {
    match (&args.saved, &args.plan) {
        (Some(saved), _) => {
            let s = SavedPlan::load(saved)?;
            Ok((wire(&s.plan_file, Some(state_dir), cancel)?, Some(s)))
        }
        (None, Some(plan)) => {
            let target = release.map(|r| r.release.target());
            let mut w =
                crate::commands::upgrade::wire_for(plan, target.as_ref(), Some(state_dir), cancel)?;
            w.package = release.and_then(|r| r.package.clone());
            Ok((w, None))
        }
        (None, None) => Err(AppError::Usage(
            "give a plan: `noderoll apply --plan FILE` or `noderoll apply SAVED.json`".into(),
        )),
    }
}

/// The command that continues the run if it is interrupted.
fn resume_hint(args: &ApplyArgs, mode: Mode, release: Option<&ReleaseRun>, w: &Wiring) -> String {
    let command = command_name(mode);
    // The flags this command was given that the resumed one needs (`--retry-failed-target`,
    // `--allow-*`, `--output json`, `--state-dir`).
    let kept = crate::next_step::Kept::of_process();
    let plan = |p: &Path| crate::next_step::shell_word(&p.display().to_string());
    match (release, &args.saved, &args.plan) {
        (Some(r), _, _) => r.resume_hint.clone(),
        (None, _, Some(p)) => {
            kept.carried_by(&format!("noderoll {command} --plan {} --yes", plan(p)))
        }
        (None, Some(s), None) => format!(
            "{} (the saved plan {} is now stale)",
            kept.carried_by(&format!(
                "noderoll apply --plan {} --yes",
                plan(&w.plan.path)
            )),
            s.display()
        ),
        _ => String::new(),
    }
}
