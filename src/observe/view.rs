//! The planner's view of an observation: what it needs of each node, nothing it does not.

use crate::ccf::types::NodeStatus;
use crate::plan::{NodeView, ServiceView};

use super::{NodeVersion, Observation};

/// The planner's view of an observation.
pub fn view_of(obs: &Observation) -> ServiceView {
    // After a disaster recovery, the transaction that creates the service also retires every
    // node of the previous one (CCF `node_frontend.h`, the `create` handler: `create_service`
    // then `retire_active_nodes`): rows last written at or before it are the previous life's.
    let recovered_at = obs
        .network
        .current_service_create_txid
        .filter(|_| obs.network.recovery_count.unwrap_or(0) > 0)
        .map(|t| t.seqno);
    ServiceView {
        primary: obs.network.primary_id.clone(),
        join_policy: obs.join_policy.clone(),
        nodes: obs
            .nodes
            .iter()
            .map(|n| NodeView {
                node_id: n.info.node_id.clone(),
                status: n.info.status,
                address: n.address.clone(),
                claims: n.attestation.clone(),
                version: match &n.version {
                    NodeVersion::Reported(v) => Some(v.clone()),
                    _ => None,
                },
                reachable: matches!(n.version, NodeVersion::Reported(_)),
                ready: n.ready,
                removable: n.removable,
                retired_before_recovery: n.info.status == NodeStatus::Retired
                    && n.info.last_written > 0
                    && recovered_at.is_some_and(|at| n.info.last_written <= at),
            })
            .collect(),
    }
}
