//! The service as the planner sees it, and the nodes a run launched.

use serde::{Deserialize, Serialize};

use crate::ccf::NodeAddr;
use crate::ccf::types::{JoinPolicy, NodeStatus, QuoteClaims};

/// One node as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    /// Node id.
    pub node_id: String,
    /// Status in the node table.
    pub status: NodeStatus,
    /// RPC address.
    pub address: Option<NodeAddr>,
    /// What it attests (from its own quote), if it could be read.
    pub claims: Option<QuoteClaims>,
    /// `ccf_version` it reports, if it answered.
    pub version: Option<String>,
    /// Answered at all.
    pub reachable: bool,
    /// `/node/ready/gov` answered 204 over service-certificate TLS.
    pub ready: bool,
    /// Listed by `/node/network/removable_nodes`.
    pub removable: bool,
    /// Retired in the service's previous life: its row was last written before the
    /// transaction that created the current service after a disaster recovery. Such nodes
    /// never become removable on CCF 6.x and early 7.x (CCF #6604).
    pub retired_before_recovery: bool,
}

/// The service as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceView {
    /// Current primary.
    pub primary: Option<String>,
    /// Nodes in the node table.
    pub nodes: Vec<NodeView>,
    /// Registered code versions.
    pub join_policy: JoinPolicy,
    /// The seqno of the snapshot the primary started from (`startup_seqno` of its `GET
    /// /node/state`, 0: it started without one), read once per run; `None`: not read.
    pub primary_startup_seqno: Option<u64>,
}

/// A node this run launched (from the launcher's answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launched {
    /// Node id, if the launcher reported it.
    pub node_id: Option<String>,
    /// RPC address, if the launcher reported it.
    pub rpc_address: Option<NodeAddr>,
}

impl Launched {
    /// Whether both describe the same node (same id, or same address when an id is missing).
    pub fn same_node(&self, other: &Launched) -> bool {
        match (&self.node_id, &other.node_id) {
            (Some(a), Some(b)) => a == b,
            _ => self.rpc_address.is_some() && self.rpc_address == other.rpc_address,
        }
    }

    /// Whether `n` is this launched node (by id, else by address).
    pub fn is(&self, n: &NodeView) -> bool {
        match (&self.node_id, &self.rpc_address) {
            (Some(id), _) => *id == n.node_id,
            (None, Some(addr)) => n.address.as_ref() == Some(addr),
            (None, None) => false,
        }
    }
}
