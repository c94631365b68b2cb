//! Observing a service: one consistent read of nodes, statuses, primary, view, per-node
//! versions, retirement, join policy, members and open proposals. Read-only: nothing here
//! sends a write.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ccf::types::QuoteClaims;
use crate::ccf::types::{
    GovNode, JoinPolicy, Member, MemberStatus, NetworkInfo, NodeInfo, NodeStatus, Proposal,
    ProposalState, ServiceStatus,
};
use crate::ccf::{CcfClient, ClientError, ErrorKind, NodeAddr, Pin};
use crate::errors::AppError;

/// What one node reported about itself, or why it could not.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeVersion {
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
pub struct ObservedNode {
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
pub struct OpenProposal {
    /// The proposal.
    pub proposal: Proposal,
    /// Action names, in order.
    pub actions: Vec<String>,
}

/// One observation of the whole service.
#[derive(Debug, Clone)]
pub struct Observation {
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
pub use crate::plan::gates::fault_tolerance;

impl Observation {
    /// Trusted (voting) nodes.
    pub fn trusted(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.info.status == NodeStatus::Trusted)
            .count()
    }

    /// Current fault tolerance f.
    pub fn fault_tolerance(&self) -> usize {
        fault_tolerance(self.trusted())
    }

    /// Active members.
    pub fn active_members(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.status == MemberStatus::Active)
            .count()
    }

    /// Whether the service is open for business.
    pub fn is_open(&self) -> bool {
        self.network.service_status == ServiceStatus::Open
    }
}

/// Find a node that answers `/node/network`, trying `nodes` in order. A certificate mismatch
/// stops at once (it will not be different on the next node).
///
/// This is where every command picks the node it talks to. When none of `nodes` answers and
/// the client carries an [`AddressBook`](crate::journal::AddressBook) (where this machine last
/// saw the service's nodes), those addresses are tried next, over the same TLS trust; a node
/// reached that way must be listed by the service as Trusted at that address. The first use
/// of the fallback is warned about, naming the addresses to put in `[service] url`.
pub async fn find_answering_node(
    client: &CcfClient,
    probe_client: &CcfClient,
    nodes: &[NodeAddr],
) -> Result<(NodeAddr, NetworkInfo), AppError> {
    let mut last = None;
    if let Some((at, info, _)) = first_answering(
        client,
        probe_client,
        nodes,
        false,
        &mut last,
        &mut Vec::new(),
    )
    .await?
    {
        return Ok((at, info));
    }
    let cancelled = |last: &Option<ClientError>| {
        last.as_ref()
            .is_some_and(|e| matches!(*e.kind, ErrorKind::Cancelled))
    };
    let mut tried: Vec<NodeAddr> = nodes.to_vec();
    let mut hint = String::new();
    if let Some(book) = client.address_book()
        && !cancelled(&last)
    {
        let kept = book.recall();
        let mut remembered: Vec<NodeAddr> = Vec::new();
        for n in &kept {
            if !nodes.contains(&n.rpc_address) && !remembered.contains(&n.rpc_address) {
                remembered.push(n.rpc_address.clone());
            }
        }
        let mut refused = Vec::new();
        if let Some((at, info, listed)) = first_answering(
            client,
            probe_client,
            &remembered,
            true,
            &mut last,
            &mut refused,
        )
        .await?
        {
            if book.note_fallback() {
                let current: Vec<NodeAddr> = listed
                    .iter()
                    .filter(|n| n.status == NodeStatus::Trusted)
                    .filter_map(|n| node_address(n, at.host()))
                    .collect();
                tracing::warn!(
                    "none of the configured service addresses answered ({}); reached the service at {at}, \
                     where this machine last saw its nodes ({}). The service's nodes have moved \
                     (a rolling upgrade replaces every node): update [service] url: {}",
                    list(nodes),
                    book.path().display(),
                    url_line(&current)
                );
            }
            return Ok((at, info));
        }
        tried.extend(remembered.iter().cloned());
        for r in &refused {
            hint.push_str(&format!("; {r}"));
        }
        let path = book.path().display();
        hint.push_str(&match (kept.len(), remembered.len()) {
            (0, _) => format!(
                "; this machine keeps no address of the service ({path}): it was never observed from here"
            ),
            (_, 0) => format!(
                "; this machine last saw the service's nodes at these same addresses ({path})"
            ),
            (_, 1) => format!("; the last is where this machine last saw its nodes ({path})"),
            (_, n) => format!("; the last {n} are where this machine last saw its nodes ({path})"),
        });
    }
    if !cancelled(&last) {
        hint.push_str(
            ". If the service's nodes were replaced (a rolling upgrade retires every node it \
             started with), they have moved: on the machine that ran the upgrade, `noderoll \
             status --plan FILE` lists their addresses (and prints the `url` line for \
             [service] url when that plan names retired nodes too); a stable address in \
             [service] url (a DNS name or a load balancer) does not move",
        );
    }
    Err(AppError::NoNodeAnswered {
        tried: list(&tried),
        hint,
        last: Box::new(last.expect("at least one node is configured")),
    })
}

/// The first of `nodes` to answer `/node/network`: one quick attempt per node first (a
/// stopped node refuses at once), then the patient client with its retries, so one dead
/// address never costs a whole back-off. With `listed`, a node must also be listed by the
/// service as Trusted at the address it was reached at (else why is added to `refused`), and
/// the service's node list is returned with it. `Ok(None)`: none answered (`last` says why).
async fn first_answering(
    client: &CcfClient,
    probe_client: &CcfClient,
    nodes: &[NodeAddr],
    listed: bool,
    last: &mut Option<ClientError>,
    refused: &mut Vec<String>,
) -> Result<Option<(NodeAddr, NetworkInfo, Vec<NodeInfo>)>, AppError> {
    let mut skip: Vec<&NodeAddr> = Vec::new();
    for c in [probe_client, client] {
        for n in nodes {
            if skip.contains(&n) {
                continue;
            }
            let info = match c.network(n).await {
                Ok(info) => info,
                Err(e) if matches!(*e.kind, ErrorKind::ServiceCertMismatch { .. }) => {
                    return Err(e.into());
                }
                // Asked to stop: every other node would say the same.
                Err(e) if matches!(*e.kind, ErrorKind::Cancelled) => {
                    *last = Some(e);
                    return Ok(None);
                }
                Err(e) => {
                    *last = Some(e);
                    continue;
                }
            };
            if !listed {
                return Ok(Some((n.clone(), info, Vec::new())));
            }
            match listed_as_trusted(client, n).await {
                Ok(Ok(nodes)) => return Ok(Some((n.clone(), info, nodes))),
                Ok(Err(why)) => {
                    refused.push(format!("{n} answered but {why}"));
                    skip.push(n);
                }
                Err(e) => *last = Some(e),
            }
        }
    }
    Ok(None)
}

/// Whether the node answering at `at` is listed by the service as a Trusted node at that
/// address: `Ok(Ok(every node listed))`, or `Ok(Err(why not))`.
async fn listed_as_trusted(
    client: &CcfClient,
    at: &NodeAddr,
) -> Result<Result<Vec<NodeInfo>, String>, ClientError> {
    let me = client.node_self(at).await?;
    let all = client.nodes(at, &Default::default()).await?;
    let short = &me.node_id[..me.node_id.len().min(8)];
    let verdict = match all.iter().find(|n| n.node_id == me.node_id) {
        None => Err(format!("is node {short}, which the service does not list")),
        Some(n) if n.status != NodeStatus::Trusted => Err(format!(
            "is node {short}, which is {}, not Trusted",
            n.status
        )),
        Some(n) if node_address(n, at.host()).as_ref() != Some(at) => Err(format!(
            "is node {short}, which the service lists at {}",
            n.rpc_address().unwrap_or("no address")
        )),
        Some(_) => Ok(all),
    };
    Ok(verdict)
}

fn list(nodes: &[NodeAddr]) -> String {
    nodes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `[service] url` line naming `nodes`: `url = ["https://10.0.0.4:8000", ...]`.
pub fn url_line(nodes: &[NodeAddr]) -> String {
    let urls: Vec<String> = nodes.iter().map(|n| format!("{:?}", n.url())).collect();
    format!("url = [{}]", urls.join(", "))
}

/// The address to reach a node at: its published RPC address, with a wildcard bind host
/// replaced by the host we already reach the service at.
pub fn node_address(info: &NodeInfo, fallback_host: &str) -> Option<NodeAddr> {
    let addr: NodeAddr = info.rpc_address()?.parse().ok()?;
    if matches!(addr.host(), "0.0.0.0" | "::" | "") {
        return Some(NodeAddr::new(fallback_host, addr.port()));
    }
    Some(addr)
}

/// Observe the service. `probe_client` is used for the per-node version probes (give it a
/// short timeout and no retries so one dead node does not stall the whole read). When
/// `client` carries an address book, the service's Trusted nodes are kept in it.
pub async fn observe(
    client: &CcfClient,
    probe_client: &CcfClient,
    nodes: &[NodeAddr],
) -> Result<Observation, AppError> {
    observe_cached(client, probe_client, nodes, &ProbeCache::default()).await
}

/// What never changes for a node id (its build), remembered across observations so a
/// long-running reconciler asks each node for its version once.
#[derive(Debug, Default)]
pub struct ProbeCache(std::sync::Mutex<BTreeMap<String, String>>);

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
pub async fn observe_cached(
    client: &CcfClient,
    probe_client: &CcfClient,
    nodes: &[NodeAddr],
    cache: &ProbeCache,
) -> Result<Observation, AppError> {
    let (at, network) = find_answering_node(client, probe_client, nodes).await?;
    let no_filter = Default::default();
    let (node_list, gov_nodes, removable, join_policy, members, proposals, quotes) = tokio::try_join!(
        client.nodes(&at, &no_filter),
        client.gov_nodes(&at),
        client.removable_nodes(&at),
        client.join_policy(&at),
        client.members(&at),
        client.proposals(&at),
        client.quotes(&at),
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
            .proposal_actions(&at, &p.proposal_id)
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

    let mut probes = tokio::task::JoinSet::new();
    let mut observed = Vec::new();
    for (i, info) in node_list.into_iter().enumerate() {
        let address = node_address(&info, at.host());
        if let (Some(addr), true) = (address.clone(), info.status != NodeStatus::Retired) {
            let (c, id, status) = (probe_client.clone(), info.node_id.clone(), info.status);
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
        let gov = gov_by_id.remove(&info.node_id);
        let attestation = match info.status {
            NodeStatus::Trusted => trusted_claims.get(&info.node_id).cloned(),
            _ => None,
        }
        .or_else(|| gov.as_ref()?.quote_info.as_ref()?.claims());
        observed.push(ObservedNode {
            gov,
            removable: removable.contains(&info.node_id),
            address,
            info,
            version: NodeVersion::NotAsked,
            attestation,
            ready: false,
        });
    }
    while let Some(r) = probes.join_next().await {
        if let Ok((i, (version, ready))) = r {
            cache.put(&observed[i].info.node_id, &version);
            observed[i].version = version;
            observed[i].ready = ready;
        }
    }
    if let Some(book) = client.address_book() {
        book.remember(
            observed
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
        nodes: observed,
        join_policy,
        members,
        open_proposals,
    })
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
        ErrorKind::Timeout => "timeout".into(),
        ErrorKind::Http { status, code, .. } => format!(
            "HTTP {status}{}",
            code.as_ref().map(|c| format!(" {c}")).unwrap_or_default()
        ),
        other => format!("{other:?}"),
    }
}

/// The two clients every command talks to a service with, trusting only its certificate: a
/// patient one (retries) and a quick one for per-node probes. With `state_dir`, both carry
/// the service's address book there, so that every observation keeps it and falls back on
/// it ([`find_answering_node`]).
pub fn service_clients(
    cert: &crate::ccf::ServiceCert,
    state_dir: Option<&std::path::Path>,
    cancel: &crate::wait::Cancel,
) -> Result<(CcfClient, CcfClient), AppError> {
    let mut client = CcfClient::new(cert, crate::ccf::ClientOptions::default(), cancel.clone())?;
    let mut probe = CcfClient::new(cert, probe_options(), cancel.clone())?;
    if let Some(dir) = state_dir {
        let book = std::sync::Arc::new(crate::journal::AddressBook::for_service(
            dir,
            &cert.sha256(),
        ));
        client = client.with_address_book(book.clone());
        probe = probe.with_address_book(book);
    }
    Ok((client, probe))
}

/// Client options for per-node probes: one attempt, short timeouts.
pub fn probe_options() -> crate::ccf::ClientOptions {
    crate::ccf::ClientOptions {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        // A busy node (503) is asked again briefly; one that does not answer is not.
        retry: crate::ccf::RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            unreachable_attempts: 1,
        },
        ..Default::default()
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
