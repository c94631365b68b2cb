//! Hooks and notifications: the operator's commands run at named points of an upgrade, with
//! the run's context in the environment and a JSON document on stdin. A gating hook that
//! exits non-zero stops the upgrade safely.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::events::{Event, Reporter};
use crate::plan::spec::{Hooks, Notify, NotifyKind};

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
        match p {
            HookPoint::AfterLaunch => self.hooks.after_launch.as_deref(),
            HookPoint::AfterTrust => self.hooks.after_trust.as_deref(),
            HookPoint::BeforeRetire => self.hooks.before_retire.as_deref(),
            HookPoint::AfterRetire => self.hooks.after_retire.as_deref(),
            HookPoint::AfterFinalize => self.hooks.after_finalize.as_deref(),
            HookPoint::OnFailure => self.hooks.on_failure.as_deref(),
        }
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
