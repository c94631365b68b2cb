//! The planner's view of an observation: what it needs of each node, nothing it does not.

use crate::ccf::types::NodeStatus;
use crate::plan::{NodeView, ServiceView};

use super::{NodeVersion, Observation};

/// The planner's view of an observation.
pub(crate) fn view_of(obs: &Observation) -> ServiceView {
    // After a disaster recovery, the transaction that creates the service also retires every
    // node of the previous one (CCF `node_frontend.h`, the `create` handler: `create_service`
    // then `retire_active_nodes`): rows last written at or before it are the previous life's.
    let recovered_at = obs
        .network
        .current_service_create_txid
        .filter(|_| obs.network.recovery_count.unwrap_or(0) > 0)
        .map(|t| t.seqno);
    ServiceView {
        // Not part of an observation: the engine's observer reads it once per run.
        primary_startup_seqno: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccf::NodeAddr;
    use crate::ccf::types::{NetworkInfo, NodeInfo, ServiceStatus, TxId};
    use crate::observe::ObservedNode;

    fn observed(
        id: &str,
        status: NodeStatus,
        last_written: u64,
        version: NodeVersion,
    ) -> ObservedNode {
        ObservedNode {
            info: NodeInfo {
                node_id: id.into(),
                status,
                primary: false,
                rpc_interfaces: Default::default(),
                node_data: serde_json::Value::Null,
                last_written,
            },
            address: Some(NodeAddr::new("127.0.0.1", 8000)),
            gov: None,
            removable: status == NodeStatus::Retired,
            version,
            attestation: None,
            ready: true,
        }
    }

    #[test]
    fn the_view_keeps_reported_versions_and_the_nodes_a_recovery_retired() {
        let obs = Observation {
            answered_by: NodeAddr::new("127.0.0.1", 8000),
            network: NetworkInfo {
                service_status: ServiceStatus::Open,
                service_certificate: String::new(),
                current_view: 4,
                primary_id: Some("a".into()),
                recovery_count: Some(1),
                current_service_create_txid: Some(TxId { view: 3, seqno: 10 }),
            },
            nodes: vec![
                observed(
                    "a",
                    NodeStatus::Trusted,
                    12,
                    NodeVersion::Reported("ccf-7".into()),
                ),
                observed(
                    "b",
                    NodeStatus::Trusted,
                    12,
                    NodeVersion::Unreachable("timeout".into()),
                ),
                observed("c", NodeStatus::Retired, 10, NodeVersion::NotAsked),
                observed("d", NodeStatus::Retired, 11, NodeVersion::NotAsked),
            ],
            join_policy: Default::default(),
            members: Vec::new(),
            open_proposals: Vec::new(),
        };
        let view = view_of(&obs);
        assert_eq!(view.primary.as_deref(), Some("a"));
        let n = &view.nodes;
        assert_eq!(
            (n[0].version.as_deref(), n[0].reachable),
            (Some("ccf-7"), true)
        );
        assert_eq!((n[1].version.as_deref(), n[1].reachable), (None, false));
        assert!(n[2].retired_before_recovery && n[2].removable);
        assert!(!n[3].retired_before_recovery);
        // Without a recovery, nothing is the previous life's.
        let mut fresh = obs.clone();
        fresh.network.recovery_count = Some(0);
        assert!(!view_of(&fresh).nodes[2].retired_before_recovery);
    }
}
