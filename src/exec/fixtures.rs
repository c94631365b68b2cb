//! Test fixtures for the engine's unit tests: the planner's (a virtual upgrade to build `bb…`,
//! nodes and services from short build names), and an observation of such a service.

use crate::ccf::NodeAddr;
use crate::plan::ServiceView;
pub(super) use crate::plan::fixtures::{NEW, node, service, spec};

/// An observation that lists `view`'s nodes, each with `node_data.noderoll_name` from
/// `names` where one is given.
pub(super) fn observation(
    view: &ServiceView,
    names: &[Option<&str>],
) -> crate::observe::Observation {
    use crate::ccf::types::{NetworkInfo, NodeInfo, ServiceStatus};
    use crate::observe::{NodeVersion, Observation, ObservedNode};
    let nodes = view
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ObservedNode {
            info: NodeInfo {
                node_id: n.node_id.clone(),
                status: n.status,
                primary: false,
                rpc_interfaces: Default::default(),
                node_data: match names.get(i).copied().flatten() {
                    Some(name) => serde_json::json!({ "noderoll_name": name }),
                    None => serde_json::Value::Null,
                },
                last_written: 0,
            },
            address: n.address.clone(),
            gov: None,
            removable: n.removable,
            version: NodeVersion::NotAsked,
            attestation: n.claims.clone(),
            ready: n.ready,
        })
        .collect();
    Observation {
        answered_by: NodeAddr::new("127.0.0.1", 1000),
        network: NetworkInfo {
            service_status: ServiceStatus::Open,
            service_certificate: String::new(),
            current_view: 2,
            primary_id: view.primary.clone(),
            recovery_count: None,
            current_service_create_txid: None,
        },
        nodes,
        join_policy: view.join_policy.clone(),
        members: Vec::new(),
        open_proposals: Vec::new(),
    }
}
