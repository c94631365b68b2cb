//! Test fixtures for the engine's unit tests: a virtual upgrade to build `bb…`, nodes and
//! services built from short build names. (The same as the planner's, which are private to
//! `plan`.)

use std::time::Duration;

use crate::ccf::NodeAddr;
use crate::ccf::types::{JoinPolicy, NodeStatus, QuoteClaims, VirtualPolicy};
use crate::plan::spec::{CodePlatform, NodesSpec, Safety, Target, UpgradeSpec};
use crate::plan::{NodeView, ServiceView};

/// The target build (host data `bb` × 32).
pub const NEW: &str = "bb";

/// An upgrade to `NEW` (ccf-7.0.2), launcher `l`/`s`, a 1 s soak.
pub fn spec() -> UpgradeSpec {
    UpgradeSpec {
        target: Target {
            platform: CodePlatform::Virtual,
            host_data: NEW.repeat(32),
            ccf_version: Some("ccf-7.0.2".into()),
            measurement: None,
            security_policy: None,
            uvm_endorsement: None,
        },
        nodes: NodesSpec {
            count: None,
            launch: "l".into(),
            stop: "s".into(),
            max_parallel_launches: 3,
            launch_timeout: Duration::from_secs(60),
            strategy: Default::default(),
            canary: 0,
        },
        hooks: Default::default(),
        notify: None,
        safety: Safety {
            min_fault_tolerance: None,
            soak: Duration::from_secs(1),
            step_timeout: Duration::from_secs(60),
            finalize: Default::default(),
            on_failure: Default::default(),
        },
    }
}

/// Node `i` (id: its hex digit × 64) of `build`, reachable and ready.
pub fn node(i: usize, status: NodeStatus, build: &str) -> NodeView {
    NodeView {
        node_id: format!("{i:x}").repeat(64),
        status,
        address: Some(NodeAddr::new("127.0.0.1", 1000 + i as u16)),
        claims: Some(QuoteClaims {
            measurement: crate::plan::spec::VIRTUAL_MEASUREMENT.into(),
            host_data: build.repeat(32),
            report_data: String::new(),
        }),
        version: None,
        reachable: true,
        ready: true,
        removable: false,
        retired_before_recovery: false,
    }
}

/// A service of these nodes, node 0 the primary, `registered` builds in the join policy.
pub fn service(nodes: Vec<NodeView>, registered: &[&str]) -> ServiceView {
    ServiceView {
        primary: Some(nodes[0].node_id.clone()),
        join_policy: JoinPolicy {
            virtual_: Some(VirtualPolicy {
                measurements: vec![crate::plan::spec::VIRTUAL_MEASUREMENT.into()],
                host_data: registered.iter().map(|h| h.repeat(32)).collect(),
            }),
            ..Default::default()
        },
        nodes,
    }
}

/// An observation that lists `view`'s nodes, each with `node_data.noderoll_name` from
/// `names` where one is given.
pub fn observation(view: &ServiceView, names: &[Option<&str>]) -> crate::observe::Observation {
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
