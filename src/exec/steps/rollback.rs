//! The pieces only a rollback runs: removing Pending nodes of the abandoned target, stopping
//! launched nodes that never joined, deregistering the abandoned code version, and (before
//! any step) withdrawing the abandoned upgrade's open proposals.

use serde_json::json;

use super::{StepCx, StepError};
use crate::ccf::NodeAddr;
use crate::ccf::actions::REMOVE_NODE;
use crate::ccf::governance::Governance;
use crate::ccf::types::{Action, short_id};
use crate::exec::events::{Event, Reporter};
use crate::exec::preflight::is_upgrade_proposal;
use crate::observe::Observation;
use crate::plan::Launched;

/// Stop a Pending node, then remove it from the service.
pub(super) async fn remove_pending(
    cx: &mut StepCx<'_>,
    node_id: &String,
    address: Option<&NodeAddr>,
) -> Result<(), StepError> {
    // Stopped first: a Pending joiner still running re-registers (CCF #6463).
    cx.launcher.stop(node_id, address).await?;
    cx.mark_stopped(Some(node_id), address);
    cx.propose(vec![Action::new(
        REMOVE_NODE,
        json!({ "node_id": node_id }),
    )])
    .await?;
    cx.report(Event::NodeRemoved {
        node_id: node_id.clone(),
    });
    Ok(())
}

/// Stop a launched node that never joined.
pub(super) async fn stop_launched(cx: &mut StepCx<'_>, node: &Launched) {
    // The node is not part of the service: failing to stop it leaks a process
    // or VM, not safety. Say so and go on.
    if let Err(e) = cx
        .launcher
        .stop(
            node.node_id.as_deref().unwrap_or_default(),
            node.rpc_address.as_ref(),
        )
        .await
    {
        cx.report(Event::Warning {
            message: format!(
                "could not stop a launched node that never joined; stop it by hand: {}",
                crate::error_chain::one_line(&e)
            ),
        });
    }
    cx.mark_stopped(node.node_id.as_ref(), node.rpc_address.as_ref());
}

/// Pass the proposal that deregisters the abandoned code version, and check it is gone.
pub(super) async fn remove_abandoned_code(
    cx: &mut StepCx<'_>,
    actions: &[Action],
) -> Result<(), StepError> {
    cx.propose(actions.to_vec()).await?;
    let (_, after) = cx
        .observer
        .look()
        .await
        .map_err(|e| StepError::Other(e.to_string()))?;
    if let Some(a) = &cx.run.abandon {
        let left = a
            .target
            .deregister_actions(&after.join_policy, &cx.spec.target);
        if !left.is_empty() {
            return Err(StepError::Other(format!(
                "the abandoned code version is still registered: {left:?}"
            )));
        }
    }
    Ok(())
}

/// Rolling back: the configured members' open proposals with upgrade actions belong to the
/// abandoned upgrade; withdraw them so they cannot pass later.
pub(crate) async fn withdraw_own_proposals(
    gov: &Governance,
    reporter: &dyn Reporter,
    obs: &Observation,
) {
    for p in obs.open_proposals.iter().filter(|p| is_upgrade_proposal(p)) {
        let Some(member) = gov
            .members()
            .iter()
            .find(|m| m.id() == p.proposal.proposer_id)
            .cloned()
        else {
            continue;
        };
        let message = match gov.withdraw(&member, &p.proposal.proposal_id).await {
            Ok(_) => format!(
                "withdrew open proposal {} ({}) of the abandoned upgrade",
                short_id(&p.proposal.proposal_id),
                p.actions.join(", ")
            ),
            Err(e) => format!(
                "could not withdraw open proposal {}: {}",
                short_id(&p.proposal.proposal_id),
                crate::error_chain::render(&e)
            ),
        };
        reporter.report(&Event::Warning { message });
    }
}
