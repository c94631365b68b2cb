//! Response and request types of CCF's node API (`/node/*`, snake_case) and governance API
//! `2024-07-01` (`/gov/*`, camelCase). Unknown fields are ignored and unknown enum values are
//! kept as `Unknown`, so newer CCF releases stay readable; fields the tool relies on are
//! required, so a malformed answer is an error naming the endpoint.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A node id: lowercase hex SHA-256 of the node's public key (64 chars).
pub type NodeId = String;
/// A member id: lowercase hex SHA-256 of the member certificate DER.
pub type MemberId = String;
/// A proposal id (64 hex).
pub type ProposalId = String;

/// True for a 64-char lowercase hex string (node, member and proposal ids).
pub fn is_hex_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A transaction id `view.seqno`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxId {
    /// Consensus view (term) the transaction was created in.
    pub view: u64,
    /// Sequence number in the ledger.
    pub seqno: u64,
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.view, self.seqno)
    }
}

impl FromStr for TxId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (v, n) = s
            .split_once('.')
            .ok_or_else(|| format!("transaction id {s:?} is not VIEW.SEQNO"))?;
        let parse = |x: &str| {
            x.parse::<u64>()
                .map_err(|_| format!("transaction id {s:?} is not VIEW.SEQNO"))
        };
        Ok(TxId {
            view: parse(v)?,
            seqno: parse(n)?,
        })
    }
}

impl Serialize for TxId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TxId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[doc = concat!("`", stringify!($variant), "`")] $variant,)*
            /// A value this version of noderoll does not know.
            #[serde(other)]
            Unknown,
        }
        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant),)* Self::Unknown => "Unknown" }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// `service_status` / gov `status`.
    ServiceStatus { Opening, Open, WaitingForRecoveryShares, Recovering, Closed }
);
string_enum!(
    /// A node's status in the service's node table.
    NodeStatus { Pending, Trusted, Retired }
);
string_enum!(
    /// Commit status of a transaction; the wire value `Unknown` (not known to this node yet)
    /// maps to `TxStatus::Unknown`.
    TxStatus {
        /// Replicated but not yet committed.
        Pending,
        /// Durable.
        Committed,
        /// Lost in an election: it will never commit.
        Invalid
    }
);
string_enum!(
    /// State of a governance proposal.
    ProposalState { Open, Accepted, Withdrawn, Rejected, Failed, Dropped }
);
string_enum!(
    /// Member status: only `Active` members may propose and vote.
    MemberStatus { Accepted, Active }
);

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

// ---------------------------------------------------------------------------------------
// Governance API 2024-07-01
// ---------------------------------------------------------------------------------------

/// A proposal as returned by create, get, list, ballot and withdraw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    /// Proposal id.
    pub proposal_id: ProposalId,
    /// Member who proposed it.
    pub proposer_id: MemberId,
    /// State.
    pub proposal_state: ProposalState,
    /// Number of ballots submitted.
    #[serde(default)]
    pub ballot_count: u64,
    /// Members who voted (in the schema; not always emitted by CCF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballot_submitters: Option<Vec<MemberId>>,
    /// Votes, once the proposal left `Open`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_votes: Option<BTreeMap<MemberId, bool>>,
    /// Ballots that threw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vote_failures: Option<BTreeMap<MemberId, Failure>>,
    /// Why the proposal failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// A JS failure recorded by governance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Reason text.
    pub reason: String,
    /// Stack trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `GET /gov/members/proposals`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalList {
    /// Proposals.
    pub value: Vec<Proposal>,
    /// Next page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// One governance action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Action name in the constitution, e.g. `transition_node_to_trusted`.
    pub name: String,
    /// Arguments.
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub args: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

fn is_empty_object(v: &serde_json::Value) -> bool {
    v.as_object().is_some_and(|o| o.is_empty())
}

impl Action {
    /// An action with arguments.
    pub fn new(name: impl Into<String>, args: serde_json::Value) -> Self {
        Action {
            name: name.into(),
            args,
        }
    }
}

/// The body of a proposal: `{"actions": [...]}` (also `GET .../actions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalBody {
    /// Actions, applied atomically in order.
    pub actions: Vec<Action>,
}

/// `GET /gov/service/members/{id}` and the list's items.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Member id.
    pub member_id: MemberId,
    /// `Accepted` or `Active`.
    pub status: MemberStatus,
    /// Member certificate PEM (optional in CCF's 2024-07-01 schema; noderoll identifies
    /// members by id, never by this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Operator data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_data: Option<serde_json::Value>,
    /// Recovery encryption key PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_encryption_key: Option<String>,
    /// Recovery role (6.x+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_role: Option<String>,
}

/// `{"value": [...]}` pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueList<T> {
    /// Items.
    pub value: Vec<T>,
    /// Next page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// `GET /gov/service/nodes/{id}` and the list's items.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovNode {
    /// Node id.
    pub node_id: NodeId,
    /// Status.
    pub status: NodeStatus,
    /// Operator data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_data: Option<serde_json::Value>,
    /// Service-endorsed certificate (absent while Pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Retirement committed: safe to stop once listed as removable.
    #[serde(default)]
    pub retired_committed: bool,
    /// Attestation the node joined with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_info: Option<QuoteInfo>,
    /// Interfaces (`publishedAddress`, `protocol`).
    #[serde(default)]
    pub rpc_interfaces: BTreeMap<String, GovRpcInterface>,
}

/// Interface summary in the governance API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovRpcInterface {
    /// Published address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_address: Option<String>,
    /// Protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// Attestation summary of a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuoteInfo {
    /// `Insecure_Virtual`, `AMD_SEV_SNP_v1`, `OE_SGX_v1`.
    pub format: String,
    /// SGX quote (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    /// Endorsements (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsements: Option<String>,
    /// SNP UVM endorsements (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uvm_endorsements: Option<String>,
    /// SNP endorsed TCB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsed_tcb: Option<String>,
    /// Virtual: raw quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_quote: Option<String>,
    /// Decoded details (virtual and SNP in newer releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<QuoteDetails>,
}

impl QuoteInfo {
    /// The claims CCF keeps readable for a node that has not joined: the `details` of an
    /// `Insecure_Virtual` quote (`service_state.h`, `produce_node_description`). SNP nodes'
    /// governance view carries no report, so `None`.
    pub fn claims(&self) -> Option<QuoteClaims> {
        let d = self.details.as_ref()?;
        (self.format == "Insecure_Virtual").then(|| QuoteClaims {
            measurement: d.measurement.clone().unwrap_or_default(),
            host_data: d.host_data.clone().unwrap_or_default(),
            report_data: d.report_data.clone().unwrap_or_default(),
        })
    }
}

/// Decoded attestation values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuoteDetails {
    /// Measurement (hex, or the virtual measurement string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<String>,
    /// Report data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_data: Option<String>,
    /// Host data (hex SHA-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_data: Option<String>,
}

/// `GET /gov/service/join-policy`: the code versions allowed to join.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinPolicy {
    /// SGX (≤ 5.x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sgx: Option<SgxPolicy>,
    /// Virtual platform.
    #[serde(default, rename = "virtual", skip_serializing_if = "Option::is_none")]
    pub virtual_: Option<VirtualPolicy>,
    /// AMD SEV-SNP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snp: Option<SnpPolicy>,
}

/// SGX join policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SgxPolicy {
    /// MRENCLAVE values.
    #[serde(default)]
    pub measurements: Vec<String>,
}

/// Virtual join policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualPolicy {
    /// Measurements.
    #[serde(default)]
    pub measurements: Vec<String>,
    /// Host data (SHA-256 of the package).
    #[serde(default)]
    pub host_data: Vec<String>,
}

/// SNP join policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnpPolicy {
    /// Launch measurements.
    #[serde(default)]
    pub measurements: Vec<String>,
    /// Host data → security policy text.
    #[serde(default)]
    pub host_data: BTreeMap<String, String>,
    /// DID → feed → `{svn}`.
    #[serde(default)]
    pub uvm_endorsements: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// CPUID → minimum TCB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcb_versions: Option<BTreeMap<String, serde_json::Value>>,
}

/// `GET /gov/service/info`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInfo {
    /// Service status.
    pub status: ServiceStatus,
    /// Service certificate PEM.
    pub certificate: String,
    /// Recoveries so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_count: Option<u64>,
    /// Creation transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_transaction_id: Option<TxId>,
    /// Previous service's creation transaction (after recovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_service_creation_transaction_id: Option<TxId>,
    /// Service data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_data: Option<serde_json::Value>,
    /// Configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<serde_json::Value>,
}

/// `GET /gov/service/transactions/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GovTxStatus {
    /// Status.
    pub status: TxStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txid_parses_and_orders() {
        let a: TxId = "2.10".parse().unwrap();
        let b: TxId = "3.1".parse().unwrap();
        assert!(a < b);
        assert_eq!(a.to_string(), "2.10");
        assert!("2".parse::<TxId>().is_err());
        assert!("a.b".parse::<TxId>().is_err());
    }

    #[test]
    fn unknown_enum_values_do_not_fail() {
        let s: NodeStatus = serde_json::from_str("\"Learner\"").unwrap();
        assert_eq!(s, NodeStatus::Unknown);
        let t: TxStatus = serde_json::from_str("\"Unknown\"").unwrap();
        assert_eq!(t, TxStatus::Unknown);
        let t: TxStatus = serde_json::from_str("\"Committed\"").unwrap();
        assert_eq!(t, TxStatus::Committed);
    }

    #[test]
    fn hex_ids() {
        assert!(is_hex_id(&"a".repeat(64)));
        assert!(!is_hex_id(&"A".repeat(64)));
        assert!(!is_hex_id("abc"));
    }
}
