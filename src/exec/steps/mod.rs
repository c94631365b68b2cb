//! The steps the engine runs, one file per kind. A step gets a [`StepCx`]: what it talks to,
//! the run's state and the view it was planned from. Steps never call back into the loop;
//! the loop observes and re-plans after each.

mod absent;
mod finalize;
mod launch;
mod register;
mod retire;
pub(crate) mod rollback;
mod snapshot;
mod soak;
mod trust;

use std::path::Path;

use serde_json::json;

use super::events::{Event, Reporter};
use super::hooks::{HookPoint, HookRunner};
use super::launcher::CommandLauncher;
use super::observer::Observer;
use crate::ccf::governance::{GovError, Governance, Passed};
use crate::ccf::types::{Action, ProposalBody, ProposalState, short_id};
use crate::ccf::{CcfClient, NodeAddr};
use crate::plan::{Launched, RunContext, ServiceView, Step, UpgradeSpec};
use crate::wait::Cancel;

pub(crate) use super::error::StepError;

/// What a step works with.
pub(crate) struct StepCx<'a> {
    /// The patient client.
    pub(crate) client: &'a CcfClient,
    /// The quick client, for per-node looks.
    pub(crate) probe: &'a CcfClient,
    /// Proposals and ballots.
    pub(crate) gov: &'a mut Governance,
    /// The upgrade.
    pub(crate) spec: &'a UpgradeSpec,
    /// Starts and stops nodes.
    pub(crate) launcher: &'a CommandLauncher,
    /// The plan's hooks.
    pub(crate) hooks: &'a HookRunner,
    /// Where events go.
    pub(crate) reporter: &'a dyn Reporter,
    /// Ctrl-C / SIGTERM.
    pub(crate) cancel: &'a Cancel,
    /// This run's id.
    pub(crate) run_id: &'a str,
    /// The service certificate, for launched nodes to join with.
    pub(crate) service_cert: &'a Path,
    /// What this run knows beyond the service (launched, stopped, retired nodes).
    pub(crate) run: &'a mut RunContext,
    /// To look at the service again after a change.
    pub(crate) observer: &'a mut Observer,
}

impl StepCx<'_> {
    /// Report an event.
    pub(crate) fn report(&self, e: Event) {
        self.reporter.report(&e);
    }

    /// Remember that a node is stopped, so a rollback does not stop it again.
    pub(crate) fn mark_stopped(&mut self, node_id: Option<&String>, address: Option<&NodeAddr>) {
        self.run.stopped.push(Launched {
            node_id: node_id.cloned(),
            rpc_address: address.cloned(),
        });
    }

    /// Run a hook: a failing gating hook fails the step; others are reported.
    pub(crate) async fn hook(
        &self,
        point: HookPoint,
        node_id: Option<&str>,
        context: serde_json::Value,
    ) -> Result<(), StepError> {
        run_hook(
            self.hooks,
            self.run_id,
            self.reporter,
            point,
            node_id,
            context,
        )
        .await
    }

    /// Pass a proposal, proposing again if another member's "add" dropped it.
    pub(crate) async fn propose(&self, actions: Vec<Action>) -> Result<(), StepError> {
        self.propose_passed(actions).await.map(|_| ())
    }

    /// [`StepCx::propose`], returning the accepted proposal (with its committed transaction).
    pub(crate) async fn propose_passed(&self, actions: Vec<Action>) -> Result<Passed, StepError> {
        let body = ProposalBody { actions };
        for _ in 0..3 {
            match self.gov.pass(&body, self.cancel).await {
                Ok(p) => {
                    self.report(Event::ProposalCommitted {
                        proposal_id: p.proposal_id.clone(),
                    });
                    return Ok(p);
                }
                Err(GovError::NotAccepted {
                    state: ProposalState::Dropped,
                    proposal_id,
                    ..
                }) => self.report(Event::Warning {
                    message: format!(
                        "proposal {} was dropped by another member's proposal; proposing again",
                        short_id(&proposal_id)
                    ),
                }),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StepError::Other(
            "the proposal was dropped three times by other members' proposals".into(),
        ))
    }

    /// Nodes to ask, primary first, without `avoid`.
    pub(crate) fn nodes_but(&self, view: &ServiceView, avoid: Option<&str>) -> Vec<NodeAddr> {
        self.observer.nodes_but(view, avoid)
    }
}

/// Run the hook for `point`: a failing gating hook is an error; others are reported.
pub(crate) async fn run_hook(
    hooks: &HookRunner,
    run_id: &str,
    reporter: &dyn Reporter,
    point: HookPoint,
    node_id: Option<&str>,
    context: serde_json::Value,
) -> Result<(), StepError> {
    match hooks.run(point, run_id, node_id, context).await {
        Ok(true) => {
            reporter.report(&Event::HookRan {
                hook: point.name().into(),
            });
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) if point.gating() => Err(e.into()),
        Err(e) => {
            reporter.report(&Event::Warning {
                message: e.to_string(),
            });
            Ok(())
        }
    }
}

/// Run `step`, planned from `view`, with its hooks.
pub(crate) async fn execute(
    cx: &mut StepCx<'_>,
    step: &Step,
    view: &ServiceView,
) -> Result<(), StepError> {
    let describe = step.describe_for(cx.run.abandon.is_some());
    match step {
        Step::RegisterCode { actions } => register::register_code(cx, actions).await,
        Step::FreshSnapshot => snapshot::fresh_snapshot(cx, view).await,
        Step::LaunchNodes { count } => {
            let ids = launch::launch(cx, *count, view).await?;
            let context = json!({ "step": describe, "nodes": ids });
            cx.hook(HookPoint::AfterLaunch, None, context).await
        }
        Step::TrustNodes { node_ids, .. } => {
            trust::trust(cx, node_ids, view).await?;
            let context = json!({ "step": describe, "nodes": node_ids });
            cx.hook(HookPoint::AfterTrust, None, context).await
        }
        Step::Soak { duration } => soak::soak(cx, *duration, view).await,
        Step::RetireNode {
            node_id,
            address,
            primary,
        } => {
            let context = json!({ "step": describe, "node_id": node_id, "primary": primary });
            cx.hook(HookPoint::BeforeRetire, Some(node_id), context.clone())
                .await?;
            retire::retire(cx, node_id, address.as_ref(), *primary, view).await?;
            cx.hook(HookPoint::AfterRetire, Some(node_id), context)
                .await
        }
        Step::RemoveRetired { node_id, address } => {
            retire::remove(cx, node_id, address.as_ref(), view).await?;
            let context = json!({ "step": describe, "node_id": node_id });
            cx.hook(HookPoint::AfterRetire, Some(node_id), context)
                .await
        }
        Step::RemovePending { node_id, address } => {
            rollback::remove_pending(cx, node_id, address.as_ref()).await
        }
        Step::StopLaunched { node } => {
            rollback::stop_launched(cx, node).await;
            Ok(())
        }
        Step::RemoveAbandonedCode { actions } => rollback::remove_abandoned_code(cx, actions).await,
        Step::Finalize { actions } => {
            finalize::finalize(cx, actions).await?;
            let context = json!({ "step": describe, "target": cx.spec.target });
            cx.hook(HookPoint::AfterFinalize, None, context).await
        }
    }
}
