//! Hooks and notifications: the operator's commands run at named points of an upgrade, with
//! the run's context in the environment and a JSON document on stdin. A gating hook that
//! exits non-zero stops the upgrade safely.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::events::{Event, Reporter};
use crate::plan::Step;
use crate::plan::spec::{Hooks, Notify, NotifyKind, OnFailure, UpgradeSpec};

/// Where a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HookPoint {
    /// After launched nodes are Pending.
    AfterLaunch,
    /// After new nodes are trusted and serving.
    AfterTrust,
    /// Before an old node is retired.
    BeforeRetire,
    /// After an old node is stopped and deleted.
    AfterRetire,
    /// After the old code version is removed.
    AfterFinalize,
    /// When the run stops on a failure.
    OnFailure,
}

impl HookPoint {
    /// Every hook point, in the order a run meets them.
    pub(crate) const ALL: [HookPoint; 6] = [
        HookPoint::AfterLaunch,
        HookPoint::AfterTrust,
        HookPoint::BeforeRetire,
        HookPoint::AfterRetire,
        HookPoint::AfterFinalize,
        HookPoint::OnFailure,
    ];

    /// The command `hooks` configures here.
    pub(crate) fn command(self, hooks: &Hooks) -> Option<&str> {
        match self {
            HookPoint::AfterLaunch => hooks.after_launch.as_deref(),
            HookPoint::AfterTrust => hooks.after_trust.as_deref(),
            HookPoint::BeforeRetire => hooks.before_retire.as_deref(),
            HookPoint::AfterRetire => hooks.after_retire.as_deref(),
            HookPoint::AfterFinalize => hooks.after_finalize.as_deref(),
            HookPoint::OnFailure => hooks.on_failure.as_deref(),
        }
    }

    /// The points a run of `steps` can reach: each step's own (as [`super::steps`] runs
    /// them), `on_failure` whenever a step may fail, and, with `rolls_back` (an upgrade that
    /// a failing new node rolls back in the same command), those of the rollback's launches
    /// and retirements.
    pub(crate) fn reached_by(steps: &[&Step], rolls_back: bool) -> Vec<HookPoint> {
        use HookPoint::*;
        let mut reached = Vec::new();
        for s in steps {
            reached.extend_from_slice(match s {
                Step::LaunchNodes { .. } => &[AfterLaunch][..],
                Step::TrustNodes { .. } => &[AfterTrust],
                Step::RetireNode { .. } => &[BeforeRetire, AfterRetire],
                Step::RemoveRetired { .. } => &[AfterRetire],
                Step::Finalize { .. } => &[AfterFinalize],
                _ => &[],
            });
        }
        let new_nodes = steps.iter().any(|s| {
            matches!(
                s,
                Step::LaunchNodes { .. } | Step::TrustNodes { .. } | Step::Soak { .. }
            )
        });
        if rolls_back && new_nodes {
            reached.extend([AfterLaunch, AfterTrust, BeforeRetire, AfterRetire]);
        }
        if !steps.is_empty() {
            reached.push(OnFailure);
        }
        HookPoint::ALL
            .into_iter()
            .filter(|p| reached.contains(p))
            .collect()
    }

    /// Plan-file key.
    pub(crate) fn name(self) -> &'static str {
        match self {
            HookPoint::AfterLaunch => "after_launch",
            HookPoint::AfterTrust => "after_trust",
            HookPoint::BeforeRetire => "before_retire",
            HookPoint::AfterRetire => "after_retire",
            HookPoint::AfterFinalize => "after_finalize",
            HookPoint::OnFailure => "on_failure",
        }
    }

    /// A failing gating hook stops the upgrade; the others are reported.
    pub(crate) fn gating(self) -> bool {
        !matches!(self, HookPoint::AfterFinalize | HookPoint::OnFailure)
    }
}

/// A hook that failed.
#[derive(Debug, thiserror::Error)]
#[error("{hook} hook `{command}` failed: {detail}")]
pub(crate) struct HookError {
    /// Hook name.
    pub hook: &'static str,
    /// Its command.
    pub command: String,
    /// Exit status and stderr, or why it did not run.
    pub detail: String,
    /// It could not be run at all (not found, not executable, `sh` missing): the plan's
    /// mistake, never a new node's failure.
    pub cannot_run: bool,
}

/// Runs the plan's hooks.
#[derive(Debug, Clone)]
pub(crate) struct HookRunner {
    hooks: Hooks,
    cwd: PathBuf,
}

impl HookRunner {
    /// Hooks from the plan, run in the plan's directory.
    pub(crate) fn new(hooks: Hooks, cwd: &Path) -> Self {
        HookRunner {
            hooks,
            cwd: cwd.to_path_buf(),
        }
    }

    fn command(&self, p: HookPoint) -> Option<&str> {
        p.command(&self.hooks)
    }

    /// Run the hook for `point` (if configured). `context` goes to stdin, merged with
    /// `hook` and `run_id`; `NODEROLL_HOOK`, `NODEROLL_RUN_ID` and `NODEROLL_NODE_ID` (when the
    /// hook concerns one node) are set.
    pub(crate) async fn run(
        &self,
        point: HookPoint,
        run_id: &str,
        node_id: Option<&str>,
        context: Value,
    ) -> Result<bool, HookError> {
        let Some(command) = self.command(point) else {
            return Ok(false);
        };
        let mut doc = json!({ "hook": point.name(), "run_id": run_id });
        if let (Value::Object(d), Value::Object(c)) = (&mut doc, context) {
            d.extend(c);
        }
        let env = [
            ("NODEROLL_HOOK", point.name().to_string()),
            ("NODEROLL_RUN_ID", run_id.to_string()),
            ("NODEROLL_NODE_ID", node_id.unwrap_or_default().to_string()),
        ];
        let failed = |detail: String, cannot_run: bool| HookError {
            hook: point.name(),
            command: command.to_string(),
            detail,
            cannot_run,
        };
        let input = doc.to_string();
        let ran = super::shell::run(
            command,
            &self.cwd,
            &env,
            Some(input.as_bytes()),
            self.hooks.timeout_parsed,
        )
        .await
        .map_err(|e| failed(e, false))?;
        if !ran.status.success() {
            let detail = ran.failure();
            return Err(failed(detail, ran.cannot_run()));
        }
        Ok(true)
    }
}

/// The commands a run can call besides the launcher's: the hooks its steps reach and the
/// `[notify]` command, for preflight to check.
pub(crate) struct RunCommands<'a> {
    spec: &'a UpgradeSpec,
    points: Vec<HookPoint>,
}

/// The hooks and notification of a run of `steps` (`None` before the run is planned: every
/// hook); `rollback`: a rollback run.
pub(crate) fn preflight<'a>(
    spec: &'a UpgradeSpec,
    steps: Option<&[Step]>,
    rollback: bool,
) -> RunCommands<'a> {
    let points = match steps {
        Some(steps) => {
            // An upgrade that rolls back when a new node fails does so in the same command.
            let rolls_back = !rollback && spec.safety.on_failure == OnFailure::Rollback;
            HookPoint::reached_by(&steps.iter().collect::<Vec<_>>(), rolls_back)
        }
        None => HookPoint::ALL.to_vec(),
    };
    RunCommands { spec, points }
}

impl RunCommands<'_> {
    /// Preflight (nothing is run): whether the hooks the run reaches and the notification
    /// command (unless it selects no event) can start in `cwd`, each named (`hook
    /// before_retire`, `notify`). `None` when the plan configures no hook and no notification.
    pub(crate) async fn startable(&self, cwd: &Path) -> Option<Result<String, String>> {
        let (hooks, notify) = (&self.spec.hooks, self.spec.notify.as_ref());
        let configured = HookPoint::ALL.iter().any(|p| p.command(hooks).is_some());
        if !configured && notify.is_none() {
            return None;
        }
        let mut wanted: Vec<(String, &str)> = self
            .points
            .iter()
            .filter_map(|p| Some((format!("hook {}", p.name()), p.command(hooks)?)))
            .collect();
        if let Some(n) = notify.filter(|n| !n.events.is_empty()) {
            wanted.push(("notify".into(), n.command.as_str()));
        }
        if wanted.is_empty() {
            return Some(Ok("none of the configured hooks runs in this run".into()));
        }
        Some(super::shell::startable(cwd, &wanted).await)
    }
}

/// Sends selected events to the `[notify]` command, without slowing the upgrade down.
pub(crate) struct Notifier {
    inner: Arc<dyn Reporter>,
    notify: Notify,
    cwd: PathBuf,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Notifier {
    /// Wrap `inner` (which still receives every event).
    pub(crate) fn new(inner: Arc<dyn Reporter>, notify: Notify, cwd: &Path) -> Self {
        Notifier {
            inner,
            notify,
            cwd: cwd.to_path_buf(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Send a document of `kind` if selected.
    pub(crate) fn send(&self, kind: NotifyKind, doc: Value) {
        if !self.notify.events.contains(&kind) {
            return;
        }
        let (command, cwd) = (self.notify.command.clone(), self.cwd.clone());
        let handle = tokio::spawn(async move {
            let input = doc.to_string();
            match super::shell::run(
                &command,
                &cwd,
                &[],
                Some(input.as_bytes()),
                Duration::from_secs(30),
            )
            .await
            {
                Ok(r) if r.status.success() => {}
                Ok(r) => tracing::warn!("notify command `{command}` failed: {}", r.failure()),
                Err(e) => tracing::warn!("notify command `{command}` failed: {e}"),
            }
        });
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    /// Wait (bounded) for notifications still being delivered.
    pub(crate) async fn flush(&self) {
        let tasks: Vec<_> =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
    }
}

impl Reporter for Notifier {
    fn report(&self, e: &Event) {
        self.inner.report(e);
        let kind = match e {
            Event::RunStarted { .. } => NotifyKind::Started,
            Event::StepFinished { .. } => NotifyKind::StepFinished,
            _ => return,
        };
        self.send(kind, crate::output::events::record(e));
    }
}

#[cfg(test)]
mod tests {
    use super::HookPoint::{self, *};
    use crate::plan::Step;

    fn reached(steps: &[Step], rolls_back: bool) -> Vec<HookPoint> {
        HookPoint::reached_by(&steps.iter().collect::<Vec<_>>(), rolls_back)
    }

    #[test]
    fn the_hooks_a_run_reaches_are_its_steps_and_on_failure() {
        assert_eq!(reached(&[], true), vec![]);
        let retire = Step::RetireNode {
            node_id: "n".into(),
            address: None,
            primary: false,
        };
        let finalize = Step::Finalize {
            actions: Vec::new(),
        };
        assert_eq!(
            reached(&[retire], false),
            vec![BeforeRetire, AfterRetire, OnFailure]
        );
        assert_eq!(reached(&[finalize], true), vec![AfterFinalize, OnFailure]);
        let launch = Step::LaunchNodes { count: 1 };
        assert_eq!(
            reached(std::slice::from_ref(&launch), false),
            vec![AfterLaunch, OnFailure]
        );
        // A failing new node rolls back in the same command: the rollback's hooks too.
        assert_eq!(
            reached(&[launch], true),
            vec![
                AfterLaunch,
                AfterTrust,
                BeforeRetire,
                AfterRetire,
                OnFailure
            ]
        );
    }
}
