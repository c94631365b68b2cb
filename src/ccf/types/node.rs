//! Response types of CCF's node API (`/node/*`, snake_case).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{NodeId, NodeStatus, ServiceStatus, TxId, TxStatus};

/// `GET /node/network`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// Service lifecycle status.
    pub service_status: ServiceStatus,
    /// PEM of the current service certificate.
    pub service_certificate: String,
    /// Current view (term) as seen by the answering node.
    pub current_view: u64,
    /// Primary known to the answering node; `None` during an election.
    #[serde(default)]
    pub primary_id: Option<NodeId>,
    /// Number of disaster recoveries.
    #[serde(default)]
    pub recovery_count: Option<u64>,
    /// Transaction that created the current service.
    #[serde(default)]
    pub current_service_create_txid: Option<TxId>,
}

/// One RPC interface a node declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcInterface {
    /// Address the node binds.
    pub bind_address: String,
    /// Address clients should use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_address: Option<String>,
    /// `HTTP1` or `HTTP2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// Which certificate the interface presents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsement: Option<serde_json::Value>,
}

impl RpcInterface {
    /// Whether the interface presents the service-endorsed certificate: `endorsement.authority`
    /// is `Service`, CCF's default when the interface declares no endorsement
    /// (`include/ccf/node/startup_config.h`, `Endorsement::authority`).
    pub fn service_endorsed(&self) -> bool {
        match &self.endorsement {
            None => true,
            Some(e) => e
                .get("authority")
                .and_then(serde_json::Value::as_str)
                .is_none_or(|a| a == "Service"),
        }
    }

    /// The address to reach this interface at.
    pub fn address(&self) -> &str {
        self.published_address
            .as_deref()
            .unwrap_or(&self.bind_address)
    }
}

/// `GetNode::NodeInfo`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node id.
    pub node_id: NodeId,
    /// Status in the node table.
    pub status: NodeStatus,
    /// Whether the answering node thinks this is the primary.
    #[serde(default)]
    pub primary: bool,
    /// Declared interfaces by name.
    #[serde(default)]
    pub rpc_interfaces: BTreeMap<String, RpcInterface>,
    /// Operator-supplied data.
    #[serde(default)]
    pub node_data: serde_json::Value,
    /// Seqno of the last write to this node's row.
    #[serde(default)]
    pub last_written: u64,
}

impl NodeInfo {
    /// The address of the RPC interface a client trusting the service certificate can use:
    /// one whose `endorsement.authority` is `Service` (CCF's default when absent), preferring
    /// `primary_rpc_interface`. An interface endorsed by the node itself, ACME or nobody
    /// presents a certificate the service certificate does not verify, whatever its name.
    pub fn rpc_address(&self) -> Option<&str> {
        let service: Vec<(&String, &RpcInterface)> = self
            .rpc_interfaces
            .iter()
            .filter(|(_, i)| i.service_endorsed())
            .collect();
        service
            .iter()
            .find(|(name, _)| name.as_str() == "primary_rpc_interface")
            .or_else(|| service.first())
            .map(|(_, i)| i.address())
    }
}

/// `GET /node/network/nodes` and `/node/network/removable_nodes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeList {
    /// The nodes.
    pub nodes: Vec<NodeInfo>,
}

/// `GET /node/version`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionInfo {
    /// e.g. `ccf-7.0.2`.
    pub ccf_version: String,
    /// QuickJS version.
    #[serde(default)]
    pub quickjs_version: Option<String>,
    /// Debug ("unsafe") build.
    #[serde(default, rename = "unsafe")]
    pub is_unsafe: bool,
}

/// `GET /node/state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeStateInfo {
    /// Node id of the answering node.
    pub node_id: NodeId,
    /// Node-local lifecycle state, e.g. `PartOfNetwork`.
    pub state: String,
    /// Last signed seqno.
    #[serde(default)]
    pub last_signed_seqno: u64,
    /// Seqno the node started from.
    #[serde(default)]
    pub startup_seqno: u64,
    /// True after a first SIGTERM with `ignore_first_sigterm`.
    #[serde(default)]
    pub stop_notice: bool,
}

/// `GET /node/commit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Latest committed transaction known to the node.
    pub transaction_id: TxId,
}

/// `GET /node/tx`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TxStatusInfo {
    /// The transaction asked about.
    pub transaction_id: TxId,
    /// Its status.
    pub status: TxStatus,
}

/// `GET /node/consensus`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsensusInfo {
    /// Raft details.
    pub details: ConsensusDetails,
}

/// Raft state of the answering node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsensusDetails {
    /// Active configurations (more than one during a reconfiguration).
    #[serde(default)]
    pub configs: Vec<ConsensusConfig>,
    /// `Leader`, `Follower`, `Candidate`, ...
    #[serde(default)]
    pub leadership_state: Option<String>,
    /// `Active` or `Retired`.
    #[serde(default)]
    pub membership_state: Option<String>,
    /// Retirement phase if retiring.
    #[serde(default)]
    pub retirement_phase: Option<String>,
    /// Primary known to this node.
    #[serde(default)]
    pub primary_id: Option<NodeId>,
    /// Current view.
    #[serde(default)]
    pub current_view: Option<u64>,
    /// Per peer: the last seqno it acknowledged and how long ago the primary last heard from
    /// it (meaningful on the primary only; `src/consensus/aft/raft.h`, `get_details`).
    #[serde(default)]
    pub acks: BTreeMap<NodeId, Ack>,
}

/// A peer's acknowledgement state as the primary sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ack {
    /// Highest seqno the peer acknowledged.
    #[serde(default)]
    pub seqno: u64,
    /// Milliseconds since the primary last received from it.
    #[serde(default)]
    pub last_received_ms: u64,
}

/// One active Raft configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsensusConfig {
    /// Index where it became active.
    pub idx: u64,
    /// Nodes in it.
    pub nodes: BTreeMap<NodeId, serde_json::Value>,
}

/// `GET /node/quotes/self`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Quote {
    /// Node id.
    pub node_id: NodeId,
    /// Base64 raw quote.
    pub raw: String,
    /// Base64 endorsements.
    #[serde(default)]
    pub endorsements: String,
    /// `Insecure_Virtual`, `AMD_SEV_SNP_v1`, `OE_SGX_v1`.
    pub format: String,
    /// Hex measurement.
    #[serde(default)]
    pub measurement: Option<String>,
    /// Base64 UVM endorsements (SNP).
    #[serde(default)]
    pub uvm_endorsements: Option<String>,
}

/// What a quote attests: the code identity of the node that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteClaims {
    /// Measurement (virtual: the fixed string; SNP: 96 hex).
    pub measurement: String,
    /// Host data (hex SHA-256).
    pub host_data: String,
    /// Report data (hex; SHA-256 of the node's public key for CCF nodes).
    pub report_data: String,
}

impl Quote {
    /// Decode the claims in `raw`: JSON for `Insecure_Virtual`, the AMD attestation report
    /// layout for `AMD_SEV_SNP_v1`. `None` for other formats or malformed quotes.
    pub fn claims(&self) -> Option<QuoteClaims> {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&self.raw)
            .ok()?;
        match self.format.as_str() {
            "Insecure_Virtual" => {
                #[derive(Deserialize)]
                struct Virtual {
                    measurement: String,
                    host_data: String,
                    #[serde(default)]
                    report_data: String,
                }
                let v: Virtual = serde_json::from_slice(&raw).ok()?;
                Some(QuoteClaims {
                    measurement: v.measurement,
                    host_data: v.host_data,
                    report_data: v.report_data,
                })
            }
            "AMD_SEV_SNP_v1" if raw.len() >= 0xE0 => Some(QuoteClaims {
                report_data: hex::encode(&raw[0x50..0x70]),
                measurement: hex::encode(&raw[0x90..0xC0]),
                host_data: hex::encode(&raw[0xC0..0xE0]),
            }),
            _ => None,
        }
    }
}
