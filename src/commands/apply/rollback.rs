//! Rollbacks: the engine that goes back to the previous version, asked for (`noderoll
//! rollback`) or after a new node failed (`[safety] on_failure = "rollback"`).

use std::sync::Arc;

use crate::commands::upgrade::Wiring;
use crate::errors::AppError;
use crate::exec::{Engine, EngineError, Reporter, RunOptions};
use crate::journal::Journal;
use crate::plan::planner::Abandon;
use crate::plan::rollback::{RollbackFrom, previous_target};
use crate::plan::{Step, Target};
use crate::wait::Cancel;

/// The engine of a rollback of `w`'s target, if there is one to do, and the version it goes
/// back to. `launched` are the nodes the abandoned upgrade launched.
pub(crate) fn rollback_engine(
    w: &Wiring,
    (view, journal): (&crate::plan::ServiceView, &Journal),
    launched: Vec<crate::plan::Launched>,
    reporter: Arc<dyn Reporter>,
    cancel: Cancel,
) -> Result<Option<(Engine, Target)>, AppError> {
    let mut previous = match previous_target(view, &w.spec) {
        RollbackFrom::NothingToRollBack => return Ok(None),
        RollbackFrom::Impossible(why) => return Err(AppError::RollbackImpossible(why)),
        RollbackFrom::To(t) => t,
    };
    // No old node left to report its version (every one retired): the version the upgrade
    // recorded when it started, so the launcher gets NODEROLL_CCF_VERSION.
    if previous.ccf_version.is_none() {
        previous.ccf_version = journal.ccf_version_of(&previous.host_data);
    }
    let spec = crate::plan::UpgradeSpec {
        target: previous.clone(),
        ..w.spec.clone()
    };
    let options = RunOptions {
        rollback: Some(Abandon {
            target: w.spec.target.clone(),
            launched,
        }),
        ..Default::default()
    };
    Ok(Some((
        w.engine_for(spec, options, reporter, cancel),
        previous,
    )))
}

/// `clean` when nothing of the previous build has to be launched, else `roll_forward`.
pub(crate) fn rollback_kind(plan: &crate::plan::Plan) -> &'static str {
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

/// `[safety] on_failure = "rollback"`: a new node failed; record the target as failed and
/// go back to the previous version with the same reporters and journal. Also the steps the
/// rollback started.
pub(crate) async fn roll_back_after(
    w: &Wiring,
    (journaled, journal): (&crate::journal::JournalReporter, &Journal),
    reporter: Arc<dyn Reporter>,
    failure: EngineError,
    failed_run: &mut Engine,
    cancel: Cancel,
) -> (Result<crate::exec::Outcome, AppError>, usize) {
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
        Err(e) => return (Err(failed(e.into())), 0),
    };
    let launched = failed_run.launched();
    let found = rollback_engine(w, (&view, journal), launched, reporter.clone(), cancel);
    let (mut engine, to) = match found {
        Ok(Some(found)) => found,
        // Nothing of the target reached the service: nothing to undo.
        Ok(None) => {
            let rolled_back = AppError::RolledBack {
                target: w.spec.target.describe(),
                to: "the previous version".into(),
                failure: Box::new(failure),
            };
            return (Err(rolled_back), 0);
        }
        Err(e) => return (Err(failed(e)), 0),
    };
    let kind = rollback_kind(&engine.plan_for(&view));
    reporter.report(&crate::exec::Event::RollbackStarted {
        run_id: engine.run_id().to_string(),
        from: w.spec.target.reference(),
        to: to.reference(),
        kind: kind.into(),
        reason: reason.clone(),
    });
    let result = match engine.run().await {
        Ok(_) => Err(AppError::RolledBack {
            target: w.spec.target.describe(),
            to: to.describe(),
            failure: Box::new(failure),
        }),
        Err(e) => Err(failed(e.into())),
    };
    (result, engine.executed())
}
