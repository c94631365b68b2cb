//! Test fixtures shared by the planning and engine unit tests: a virtual upgrade to build
//! `bb…`, nodes and services built from short build names.

use std::time::Duration;

use super::spec::{CodePlatform, NodesSpec, Safety, Target, UpgradeSpec};
use super::view::{NodeView, ServiceView};
use crate::ccf::NodeAddr;
use crate::ccf::types::{JoinPolicy, NodeStatus, QuoteClaims, VirtualPolicy};

/// The target build (host data `bb` × 32).
pub(crate) const NEW: &str = "bb";

/// An upgrade to `NEW` (ccf-7.0.2), launcher `l`/`s`, a 1 s soak.
pub(crate) fn spec() -> UpgradeSpec {
    UpgradeSpec {
        target: Target {
            platform: CodePlatform::Virtual,
            host_data: NEW.repeat(32),
            ccf_version: Some("ccf-7.0.2".into()),
            measurement: None,
            security_policy: None,
            uvm_endorsement: None,
            node_cert_validity_days: None,
        },
        nodes: NodesSpec {
            count: None,
            launch: "l".into(),
            stop: "s".into(),
            max_parallel_launches: 3,
            launch_timeout: Duration::from_secs(60),
            strategy: Default::default(),
            canary: 0,
            fresh_snapshot: None,
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
pub(crate) fn node(i: usize, status: NodeStatus, build: &str) -> NodeView {
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
pub(crate) fn service(nodes: Vec<NodeView>, registered: &[&str]) -> ServiceView {
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
        primary_startup_seqno: None,
    }
}
