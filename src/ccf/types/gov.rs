//! Types of CCF's governance API `2024-07-01` (`/gov/*`, camelCase).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    MemberId, MemberStatus, NodeId, NodeStatus, ProposalId, ProposalState, QuoteClaims,
    ServiceStatus, TxId, TxStatus,
};

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

impl ServiceInfo {
    /// `configuration.maximumNodeCertificateValidityDays` (CCF `service_state.h`,
    /// `get_service_info`), if the service names it.
    pub fn max_node_cert_validity_days(&self) -> Option<u64> {
        self.configuration
            .as_ref()?
            .get("maximumNodeCertificateValidityDays")?
            .as_u64()
    }
}

/// `GET /gov/service/transactions/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GovTxStatus {
    /// Status.
    pub status: TxStatus,
}
