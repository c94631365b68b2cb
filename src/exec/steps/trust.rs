//! Trusting new nodes: one proposal for all of them, then a wait for each to serve
//! governance over the service certificate, attesting the target and reporting its version.

use std::collections::BTreeSet;

use serde_json::json;

use super::{StepCx, StepError};
use crate::ccf::actions::TRANSITION_NODE_TO_TRUSTED;
use crate::ccf::types::{Action, short_id};
use crate::ccf::{CcfClient, ClientError, NodeAddr};
use crate::exec::events::Event;
use crate::plan::certs::NodeCertValidity;
use crate::plan::{ServiceView, Target};
use crate::wait::{Poller, Probe, wait_until};

/// Trust `node_ids` (Pending nodes this run launched), then wait until each serves.
pub(super) async fn trust(
    cx: &StepCx<'_>,
    node_ids: &[String],
    view: &ServiceView,
) -> Result<(), StepError> {
    if node_ids.is_empty() {
        return Err(StepError::Other(
            "no Pending node launched by this run attests the target code version".into(),
        ));
    }
    let validity = validity_days(cx, view).await?;
    // A run resumed after a crash must propose the very same actions, so that its earlier
    // open proposal is found and finished instead of a second one made: the open trust
    // proposal of our members for these nodes, with this validity, is proposed as it stands
    // (its `valid_from`, whatever day it is; with or without `validity_period_days`).
    // Otherwise valid from the start of the day (UTC).
    let actions = match open_trust(cx, node_ids, validity).await? {
        Some(open) => open,
        None => {
            let valid_from = jiff::Timestamp::now().strftime("%y%m%d000000Z").to_string();
            // CCF's `transition_node_to_trusted` issues each node's endorsed certificate
            // valid from `valid_from` for `validity_period_days` (default: the maximum).
            node_ids
                .iter()
                .map(|id| {
                    Action::new(
                        TRANSITION_NODE_TO_TRUSTED,
                        json!({ "node_id": id, "valid_from": valid_from, "validity_period_days": validity.days }),
                    )
                })
                .collect()
        }
    };
    cx.propose(actions).await?;
    for id in node_ids {
        let addr = view
            .nodes
            .iter()
            .find(|n| n.node_id == *id)
            .and_then(|n| n.address.clone())
            .ok_or_else(|| StepError::Other(format!("node {} has no RPC address", short_id(id))))?;
        let version = wait_serving(cx, id, &addr).await?;
        cx.report(Event::NodeServing {
            node_id: id.clone(),
            ccf_version: version,
        });
    }
    Ok(())
}

/// Wait until the trusted node `id` at `addr` serves governance, has caught up, attests the
/// target and reports its version; that version.
async fn wait_serving(cx: &StepCx<'_>, id: &str, addr: &NodeAddr) -> Result<String, StepError> {
    let what = format!(
        "node {} to serve governance over the service certificate",
        short_id(id)
    );
    cx.report(Event::Waiting { what: what.clone() });
    let target = cx.spec.target.clone();
    let served = wait_until(
        what,
        cx.spec.safety.step_timeout,
        cx.cancel,
        Poller::service_default(),
        || {
            let (c, a, target) = (cx.probe.clone(), addr.clone(), target.clone());
            async move { look_serving(&c, &a, &target).await }
        },
    )
    .await?;
    served.map_err(|why| StepError::Other(format!("node {} was trusted but {why}", short_id(id))))
}

/// One look at a newly trusted node: `Ready(Err(why))` when it attests something else (that
/// will not change).
async fn look_serving(
    c: &CcfClient,
    a: &NodeAddr,
    target: &Target,
) -> Result<Probe<Result<String, String>>, ClientError> {
    let want = target.ccf_version.as_ref();
    match c.ready_gov(a).await {
        Ok(true) => {}
        Ok(false) => return Ok(Probe::NotYet("not ready yet".into())),
        Err(e) => return Ok(Probe::NotYet(e.to_string())),
    }
    if let Err(e) = c.commit(a).await {
        return Ok(Probe::NotYet(e.to_string()));
    }
    // Caught up, the node has its own row: its quote is readable now (a Pending node's is
    // not, CCF `get_quote_for_this_node_v1`). CCF admitted it because it matched *a*
    // registered code version, and during an upgrade the old one is registered too: only its
    // quote says which, and a wrong one will not change.
    match c.quote_self(a).await {
        Ok(q) => match q.claims() {
            Some(claims) if target.matches(&claims) => {}
            Some(claims) => {
                return Ok(Probe::Ready(Err(format!(
                    "its quote attests host data {} (measurement {}), not the target's {}",
                    claims.host_data, claims.measurement, target.host_data
                ))));
            }
            None => {
                return Ok(Probe::Ready(Err(format!(
                    "its quote (format {}) could not be read to check it attests the target",
                    q.format
                ))));
            }
        },
        Err(e) => return Ok(Probe::NotYet(e.to_string())),
    }
    match c.version(a).await {
        Ok(v) if want.is_none_or(|w| *w == v.ccf_version) => Ok(Probe::Ready(Ok(v.ccf_version))),
        Ok(v) => Ok(Probe::NotYet(format!(
            "reports {} instead of {}",
            v.ccf_version,
            want.cloned().unwrap_or_default()
        ))),
        Err(e) => Ok(Probe::NotYet(e.to_string())),
    }
}

/// The `validity_period_days` to send and the service's maximum (the engine refused a plan
/// value above it before the run began), read from the service's trusted nodes, primary first.
async fn validity_days(cx: &StepCx<'_>, view: &ServiceView) -> Result<NodeCertValidity, StepError> {
    let mut at: Vec<NodeAddr> = Vec::new();
    let trusted = view
        .nodes
        .iter()
        .filter(|n| n.status == crate::ccf::types::NodeStatus::Trusted);
    let (primary, others): (Vec<_>, Vec<_>) =
        trusted.partition(|n| view.primary.as_deref() == Some(n.node_id.as_str()));
    at.extend(
        primary
            .into_iter()
            .chain(others)
            .filter_map(|n| n.address.clone()),
    );
    crate::exec::certs::read_node_cert_validity(cx.client, &at, cx.spec)
        .await
        .map_err(|e| match e {
            crate::exec::certs::ValidityError::Refused(why) => StepError::Other(why),
            crate::exec::certs::ValidityError::Client(c) => StepError::Client(c),
        })
}

/// The actions of an open proposal by the configured members that trusts exactly
/// `node_ids` for `validity.days`: one asking for another validity (an earlier run with
/// another plan) is not ours to finish. A proposal without `validity_period_days` (an older
/// noderoll, or made by hand) asks for the service's maximum, as CCF's
/// `transition_node_to_trusted` reads it.
async fn open_trust(
    cx: &StepCx<'_>,
    node_ids: &[String],
    validity: NodeCertValidity,
) -> Result<Option<Vec<Action>>, StepError> {
    let wanted: BTreeSet<&str> = node_ids.iter().map(String::as_str).collect();
    let found = cx
        .gov
        .find_open_where(|body| {
            body.actions.iter().all(|a| {
                a.name == TRANSITION_NODE_TO_TRUSTED
                    && asked_days(&a.args, validity.max) == Some(validity.days)
            }) && body
                .actions
                .iter()
                .filter_map(|a| a.args.get("node_id")?.as_str())
                .collect::<BTreeSet<_>>()
                == wanted
        })
        .await?;
    Ok(found.map(|(_, body)| body.actions))
}

/// The days a trust action asks for: its `validity_period_days`, or `max` when absent (CCF:
/// `args.validity_period_days ?? max_allowed_cert_validity_period_days`).
fn asked_days(args: &serde_json::Value, max: u64) -> Option<u64> {
    match args.get("validity_period_days") {
        None | Some(serde_json::Value::Null) => Some(max),
        Some(d) => d.as_u64(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::asked_days;

    #[test]
    fn an_absent_validity_asks_for_the_maximum() {
        assert_eq!(asked_days(&json!({"node_id": "a"}), 365), Some(365));
        assert_eq!(
            asked_days(&json!({"validity_period_days": 30}), 365),
            Some(30)
        );
        assert_eq!(asked_days(&json!({"validity_period_days": "x"}), 365), None);
    }
}
