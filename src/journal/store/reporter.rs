//! Journalling a run: the events that matter for resuming, recorded as they pass.

use std::sync::Mutex;

use super::{FORMAT_VERSION, Journal, Record};
use crate::exec::{Event, Reporter};
use crate::plan::Launched;

/// Records the events that matter for resuming, then passes every event on.
pub(crate) struct JournalReporter {
    inner: std::sync::Arc<dyn Reporter>,
    journal: std::sync::Arc<Journal>,
    run_id: Mutex<String>,
    plan_sha256: String,
}

impl JournalReporter {
    /// Wrap `inner`.
    pub(crate) fn new(
        inner: std::sync::Arc<dyn Reporter>,
        journal: std::sync::Arc<Journal>,
        plan_sha256: String,
    ) -> Self {
        JournalReporter {
            inner,
            journal,
            run_id: Mutex::new(String::new()),
            plan_sha256,
        }
    }

    fn record(&self, r: Record) {
        if let Err(e) = self.journal.append(&r) {
            tracing::error!("{}", crate::error_chain::render(&e));
        }
    }

    /// Record that the target failed and is being rolled back.
    pub(crate) fn target_failed(&self, target: &crate::plan::Target, reason: &str) {
        let run_id = self
            .run_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.record(Record::TargetFailed {
            run_id,
            at: jiff::Timestamp::now().to_string(),
            key: target.key(),
            target: target.reference().into(),
            reason: reason.into(),
        });
    }

    /// Record how the run ended.
    pub(crate) fn ended(&self, outcome: &str) {
        let run_id = self
            .run_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if !run_id.is_empty() {
            self.record(Record::RunEnded {
                run_id,
                at: jiff::Timestamp::now().to_string(),
                outcome: outcome.into(),
            });
        }
    }
}

impl JournalReporter {
    /// A run began: its id is every later record's.
    fn run_started(
        &self,
        id: &str,
        at: String,
        target: &crate::plan::TargetRef,
        rollback: bool,
        from: &Option<crate::plan::TargetRef>,
    ) {
        *self.run_id.lock().unwrap_or_else(|e| e.into_inner()) = id.to_string();
        self.record(Record::RunStarted {
            format_version: FORMAT_VERSION,
            run_id: id.to_string(),
            at,
            target: target.clone().into(),
            plan_sha256: self.plan_sha256.clone(),
            rollback,
            from: from.clone().map(Into::into),
        });
    }
}

impl Reporter for JournalReporter {
    fn report(&self, e: &Event) {
        let at = jiff::Timestamp::now().to_string();
        let run_id = || {
            self.run_id
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        };
        match e {
            Event::RunStarted {
                run_id: id,
                target,
                rollback,
                from,
                ..
            } => self.run_started(id, at, target, *rollback, from),
            Event::LaunchStarted { name } => self.record(Record::LaunchStarted {
                run_id: run_id(),
                at: at.clone(),
                name: name.clone(),
            }),
            Event::NodeLaunched {
                name,
                node_id,
                rpc_address,
            } => self.record(Record::NodeLaunched {
                run_id: run_id(),
                at,
                node: Launched {
                    node_id: node_id.clone(),
                    rpc_address: rpc_address.as_deref().and_then(|a| a.parse().ok()),
                },
                name: Some(name.clone()),
            }),
            Event::ProposalStarting { actions } => self.record(Record::ProposalStarting {
                run_id: run_id(),
                at: at.clone(),
                actions: actions.clone(),
            }),
            Event::ProposalSubmitted { proposal_id, .. } => {
                self.record(Record::ProposalSubmitted {
                    run_id: run_id(),
                    at,
                    proposal_id: proposal_id.clone(),
                })
            }
            Event::RollbackStarted {
                run_id: id,
                from,
                to,
                reason,
                ..
            } => self.record(Record::RollbackStarted {
                run_id: id.clone(),
                at,
                from: from.clone().into(),
                to: to.clone().into(),
                reason: reason.clone(),
            }),
            Event::StepFinished {
                index, description, ..
            } => self.record(Record::StepFinished {
                run_id: run_id(),
                at,
                index: *index,
                description: description.clone(),
            }),
            _ => {}
        }
        self.inner.report(e);
    }
}
