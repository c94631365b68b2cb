//! Retiring an old node: the `remove_node` proposal, a new primary if it was the primary,
//! then its removal (`RemoveRetired` runs only that part): listed as removable, stopped, its
//! row deleted.

use serde_json::json;

use super::{StepCx, StepError};
use crate::ccf::actions::REMOVE_NODE;
use crate::ccf::types::{Action, NetworkInfo, TxId, short_id};
use crate::ccf::{CcfClient, ClientError, NodeAddr};
use crate::exec::events::Event;
use crate::plan::ServiceView;
use crate::wait::{Poller, Probe, wait_until};

/// Retire `node_id` and remove it.
pub(super) async fn retire(
    cx: &mut StepCx<'_>,
    node_id: &str,
    address: Option<&NodeAddr>,
    primary: bool,
    view: &ServiceView,
) -> Result<(), StepError> {
    let others = cx.nodes_but(view, Some(node_id));
    let watch = others
        .first()
        .cloned()
        .ok_or_else(|| StepError::Other("no other node to watch the retirement from".into()))?;
    let before = cx.client.network(&watch).await?;
    cx.gov.set_nodes(others.clone());
    cx.run.retired.push(node_id.to_string());
    cx.propose(vec![Action::new(
        REMOVE_NODE,
        json!({ "node_id": node_id }),
    )])
    .await?;
    if primary {
        let net = wait_new_primary(cx, node_id, &watch, before.current_view).await?;
        let new_primary = net.primary_id.clone().unwrap_or_default();
        cx.report(Event::ElectionObserved {
            previous: node_id.into(),
            primary: new_primary.clone(),
            view: net.current_view,
        });
        // The new primary governs and commits.
        if let Some(addr) = view
            .nodes
            .iter()
            .find(|n| n.node_id == new_primary)
            .and_then(|n| n.address.clone())
        {
            cx.client.members(&addr).await?;
            cx.client.commit(&addr).await?;
        }
    }
    remove(cx, node_id, address, view).await
}

/// Wait until `watch` sees a primary other than `old` in a view after `view`.
async fn wait_new_primary(
    cx: &StepCx<'_>,
    old: &str,
    watch: &NodeAddr,
    view: u64,
) -> Result<NetworkInfo, StepError> {
    let what = format!("a new primary after retiring {}", short_id(old));
    cx.report(Event::Waiting { what: what.clone() });
    let net = wait_until(
        what,
        cx.spec.safety.step_timeout,
        cx.cancel,
        Poller::service_default(),
        || {
            let (c, w, old) = (cx.client.clone(), watch.clone(), old.to_string());
            async move {
                match c.network(&w).await {
                    Ok(n)
                        if n.primary_id.as_ref().is_some_and(|p| *p != old)
                            && n.current_view > view =>
                    {
                        Ok::<_, ClientError>(Probe::Ready(n))
                    }
                    Ok(n) => Ok(Probe::NotYet(format!(
                        "primary {:?} in view {}",
                        n.primary_id.as_deref().map(short_id),
                        n.current_view
                    ))),
                    Err(e) => Ok(Probe::NotYet(e.to_string())),
                }
            }
        },
    )
    .await?;
    Ok(net)
}

/// Remove the retired node `node_id`: once `removable_nodes` lists it, stop it and delete
/// its row.
pub(super) async fn remove(
    cx: &mut StepCx<'_>,
    node_id: &str,
    address: Option<&NodeAddr>,
    view: &ServiceView,
) -> Result<(), StepError> {
    let others = cx.nodes_but(view, Some(node_id));
    let what = format!("node {} to be listed by removable_nodes", short_id(node_id));
    cx.report(Event::Waiting { what: what.clone() });
    wait_until(
        what,
        cx.spec.safety.step_timeout,
        cx.cancel,
        Poller::service_default(),
        || {
            let (c, others, id) = (cx.client.clone(), others.clone(), node_id.to_string());
            async move { look_removable(&c, &others, &id).await }
        },
    )
    .await?;
    cx.launcher.stop(node_id, address).await?;
    let what = format!("DELETE of node {} to commit", short_id(node_id));
    cx.report(Event::Waiting { what: what.clone() });
    let tx = wait_until(
        what,
        cx.spec.safety.step_timeout,
        cx.cancel,
        Poller::service_default(),
        || {
            let (c, others, id) = (cx.client.clone(), others.clone(), node_id.to_string());
            async move { try_delete(&c, &others, &id).await }
        },
    )
    .await?;
    if let Some(tx) = tx {
        cx.gov.wait_committed(tx, cx.cancel).await?;
    }
    if let Some(a) = address {
        cx.observer.forget(a);
    }
    cx.mark_stopped(Some(&node_id.to_string()), address);
    cx.report(Event::NodeRemoved {
        node_id: node_id.into(),
    });
    Ok(())
}

/// One look: does one of `others` list `id` as removable?
async fn look_removable(
    c: &CcfClient,
    others: &[NodeAddr],
    id: &str,
) -> Result<Probe<()>, ClientError> {
    for a in others {
        match c.removable_nodes(a).await {
            Ok(list) if list.iter().any(|n| n.node_id == id) => {
                return Ok(Probe::Ready(()));
            }
            Ok(_) => return Ok(Probe::NotYet("retired, not yet removable".into())),
            Err(e) if e.another_may_answer() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Probe::NotYet("no node answered".into()))
}

/// One attempt to delete node `id`'s row through one of `others`: the transaction to wait
/// for, `None` when it is already gone.
async fn try_delete(
    c: &CcfClient,
    others: &[NodeAddr],
    id: &str,
) -> Result<Probe<Option<TxId>>, ClientError> {
    for a in others {
        match c.delete_node(a, id).await {
            Ok(tx) => return Ok(Probe::Ready(tx)),
            Err(e) if e.is(404, "ResourceNotFound") => {
                return Ok(Probe::Ready(None));
            }
            // A primary that has not seen the retirement commit yet (CCF's harness retries).
            Err(e) if e.is(400, "NodeNotRetiredCommitted") => {
                return Ok(Probe::NotYet(e.to_string()));
            }
            Err(e) if e.another_may_answer() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Probe::NotYet("no node answered".into()))
}
