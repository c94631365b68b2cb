//! Observing a service: one consistent read of nodes, statuses, primary, view, per-node
//! versions, retirement, join policy, members and open proposals. Read-only: nothing here
//! sends a write.

use std::collections::BTreeMap;

use crate::ccf::types::QuoteClaims;
use crate::ccf::types::{
    GovNode, JoinPolicy, Member, MemberStatus, NetworkInfo, NodeInfo, NodeStatus, Proposal,
    ProposalState,
};
use crate::ccf::{CcfClient, ClientError, ErrorKind, NodeAddr, Pin};

mod answering;
mod clients;
mod error;
mod view;

pub(crate) use answering::{find_answering_node, node_address, url_line};
pub(crate) use clients::service_clients;
pub(crate) use error::ObserveError;
pub(crate) use view::view_of;

/// What one node reported about itself, or why it could not.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeVersion {
    /// `/node/version` of that node.
    Reported(String),
    /// The node presents its self-signed certificate (Pending, or not caught up).
    NotEndorsed,
    /// No usable answer.
    Unreachable(String),
    /// Not asked (no address, or a retired node).
    NotAsked,
}

/// One node as observed.
#[derive(Debug, Clone)]
pub(crate) struct ObservedNode {
    /// Node table entry.
    pub info: NodeInfo,
    /// Where to reach it.
    pub address: Option<NodeAddr>,
    /// Governance view (retirement, attestation), if listed there.
    pub gov: Option<GovNode>,
    /// Whether `removable_nodes` lists it.
    pub removable: bool,
    /// Its own `/node/version`.
    pub version: NodeVersion,
    /// What it attests, from the service's store: `/node/quotes` for a Trusted node, the
    /// governance view's `quoteInfo.details` otherwise (virtual only). `None`: unknown.
    pub attestation: Option<QuoteClaims>,
    /// `/node/ready/gov` answered 204 (over service-certificate TLS: trusted and caught up).
    pub ready: bool,
}

/// An open proposal with its actions.
#[derive(Debug, Clone)]
pub(crate) struct OpenProposal {
    /// The proposal.
    pub proposal: Proposal,
    /// Action names, in order.
    pub actions: Vec<String>,
}

/// One observation of the whole service.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    /// The node that answered the service-level questions.
    pub answered_by: NodeAddr,
    /// `/node/network` from that node.
    pub network: NetworkInfo,
    /// All nodes.
    pub nodes: Vec<ObservedNode>,
    /// Registered code versions.
    pub join_policy: JoinPolicy,
    /// Members.
    pub members: Vec<Member>,
    /// Open proposals.
    pub open_proposals: Vec<OpenProposal>,
}

/// Fault tolerance of a CFT service with `trusted` voting nodes (defined with the gates).
pub(crate) use crate::plan::gates::fault_tolerance;

impl Observation {
    /// Trusted (voting) nodes.
    pub(crate) fn trusted(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.info.status == NodeStatus::Trusted)
            .count()
    }

    /// Current fault tolerance f.
    pub(crate) fn fault_tolerance(&self) -> usize {
        fault_tolerance(self.trusted())
    }

    /// Active members.
    pub(crate) fn active_members(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.status == MemberStatus::Active)
            .count()
    }
}

/// Observe the service. `probe_client` is used for the per-node version probes (give it a
/// short timeout and no retries so one dead node does not stall the whole read). When
/// `client` carries an address book, the service's Trusted nodes are kept in it.
pub(crate) async fn observe(
    client: &CcfClient,
    probe_client: &CcfClient,
    nodes: &[NodeAddr],
) -> Result<Observation, ObserveError> {
    observe_cached(client, probe_client, nodes, &ProbeCache::default()).await
}

/// What never changes for a node id (its build), remembered across observations so a
/// long-running reconciler asks each node for its version once.
#[derive(Debug, Default)]
pub(crate) struct ProbeCache(std::sync::Mutex<BTreeMap<String, String>>);

impl ProbeCache {
    fn get(&self, id: &str) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    fn put(&self, id: &str, version: &NodeVersion) {
        if let NodeVersion::Reported(v) = version {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.to_string(), v.clone());
        }
    }
}

/// [`observe`], reusing per-node facts from `cache`.
pub(crate) async fn observe_cached(
    client: &CcfClient,
    probe_client: &CcfClient,
    nodes: &[NodeAddr],
    cache: &ProbeCache,
) -> Result<Observation, ObserveError> {
    let (at, network) = find_answering_node(client, probe_client, nodes).await?;
    let tables = read_tables(client, &at).await?;
    let nodes = observe_nodes(probe_client, tables.nodes, cache).await;
    if let Some(book) = client.address_book() {
        book.remember(
            nodes
                .iter()
                .filter(|n| n.info.status == NodeStatus::Trusted)
                .filter_map(|n| {
                    Some(crate::journal::KnownNode {
                        node_id: n.info.node_id.clone(),
                        rpc_address: n.address.clone()?,
                    })
                })
                .collect(),
        );
    }
    Ok(Observation {
        answered_by: at,
        network,
        nodes,
        join_policy: tables.join_policy,
        members: tables.members,
        open_proposals: tables.open_proposals,
    })
}

/// The service's tables, as the answering node holds them.
struct Tables {
    /// Every node, with what the store says of it (not yet asked itself).
    nodes: Vec<ObservedNode>,
    join_policy: JoinPolicy,
    members: Vec<Member>,
    open_proposals: Vec<OpenProposal>,
}

/// Read the service's tables from the node at `at`.
async fn read_tables(client: &CcfClient, at: &NodeAddr) -> Result<Tables, ObserveError> {
    let no_filter = Default::default();
    let (node_list, gov_nodes, removable, join_policy, members, proposals, quotes) = tokio::try_join!(
        client.nodes(at, &no_filter),
        client.gov_nodes(at),
        client.removable_nodes(at),
        client.join_policy(at),
        client.members(at),
        client.proposals(at),
        client.quotes(at),
    )?;
    // What each node attests, as the service's store holds it. A node's own
    // `/node/quotes/self` reads the same row of its own store, and a Pending node has no
    // store yet (404), so the answering node is asked about everyone.
    let trusted_claims: BTreeMap<String, QuoteClaims> = quotes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|q| Some((q.node_id.clone(), q.claims()?)))
        .collect();
    let mut open_proposals = Vec::new();
    for p in proposals
        .into_iter()
        .filter(|p| p.proposal_state == ProposalState::Open)
    {
        let actions = client
            .proposal_actions(at, &p.proposal_id)
            .await?
            .map(|b| b.actions.into_iter().map(|a| a.name).collect())
            .unwrap_or_default();
        open_proposals.push(OpenProposal {
            proposal: p,
            actions,
        });
    }
    let mut gov_by_id: BTreeMap<String, GovNode> = gov_nodes
        .into_iter()
        .map(|g| (g.node_id.clone(), g))
        .collect();
    let removable: Vec<String> = removable.into_iter().map(|n| n.node_id).collect();
    let nodes = node_list
        .into_iter()
        .map(|info| {
            let gov = gov_by_id.remove(&info.node_id);
            let attestation = match info.status {
                NodeStatus::Trusted => trusted_claims.get(&info.node_id).cloned(),
                _ => None,
            }
            .or_else(|| gov.as_ref()?.quote_info.as_ref()?.claims());
            ObservedNode {
                gov,
                removable: removable.contains(&info.node_id),
                address: node_address(&info, at.host()),
                info,
                version: NodeVersion::NotAsked,
                attestation,
                ready: false,
            }
        })
        .collect();
    Ok(Tables {
        nodes,
        join_policy,
        members,
        open_proposals,
    })
}

/// Ask every node not retired, in parallel, for its version and readiness (only readiness
/// of a node whose build `cache` knows).
async fn observe_nodes(
    probe_client: &CcfClient,
    mut observed: Vec<ObservedNode>,
    cache: &ProbeCache,
) -> Vec<ObservedNode> {
    let mut probes = tokio::task::JoinSet::new();
    for (i, n) in observed.iter().enumerate() {
        if let (Some(addr), true) = (n.address.clone(), n.info.status != NodeStatus::Retired) {
            let (c, id, status) = (probe_client.clone(), n.info.node_id.clone(), n.info.status);
            let known = cache.get(&id);
            probes.spawn(async move {
                match known {
                    // Only readiness changes for a known node.
                    Some(version) => {
                        let ready = status == NodeStatus::Trusted
                            && c.ready_gov(&addr).await.unwrap_or(false);
                        (i, (NodeVersion::Reported(version), ready))
                    }
                    None => (i, probe(c, addr, id, status).await),
                }
            });
        }
    }
    while let Some(r) = probes.join_next().await {
        if let Ok((i, (version, ready))) = r {
            cache.put(&observed[i].info.node_id, &version);
            observed[i].version = version;
            observed[i].ready = ready;
        }
    }
    observed
}

/// Ask a node itself for its version and readiness. A Pending node still presents its
/// self-signed certificate, so it is reached with TLS pinned to its node id.
async fn probe(
    client: CcfClient,
    addr: NodeAddr,
    node_id: String,
    status: NodeStatus,
) -> (NodeVersion, bool) {
    let pinned = status == NodeStatus::Pending;
    let client = match (status, Pin::node_id(&node_id)) {
        (NodeStatus::Pending, Some(pin)) => client.with_pin(pin).unwrap_or(client),
        _ => client,
    };
    let version = version_of(&client, &addr).await;
    let ready = !pinned
        && matches!(version, NodeVersion::Reported(_))
        && client.ready_gov(&addr).await.unwrap_or(false);
    (version, ready)
}

async fn version_of(client: &CcfClient, addr: &NodeAddr) -> NodeVersion {
    match client.version(addr).await {
        Ok(v) => NodeVersion::Reported(v.ccf_version),
        Err(e) if matches!(e.kind.as_ref(), ErrorKind::Tls(d) if d.contains("self-signed")) => {
            NodeVersion::NotEndorsed
        }
        Err(e) => NodeVersion::Unreachable(short_reason(&e)),
    }
}

fn short_reason(e: &ClientError) -> String {
    match e.kind.as_ref() {
        ErrorKind::Connect(d) => d.clone(),
        ErrorKind::Unresolved { host, .. } => format!("{host} does not resolve"),
        ErrorKind::Timeout => "timeout".into(),
        ErrorKind::Http { status, code, .. } => format!(
            "HTTP {status}{}",
            code.as_ref().map(|c| format!(" {c}")).unwrap_or_default()
        ),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_tolerance_is_floor_n_minus_one_over_two() {
        let f: Vec<_> = (0..8).map(fault_tolerance).collect();
        assert_eq!(f, vec![0, 0, 0, 1, 1, 2, 2, 3]);
    }
}
