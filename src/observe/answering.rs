//! Picking the node to talk to: the configured addresses first, then where this machine last
//! saw the service's nodes.

use crate::ccf::AddressHints;
use crate::ccf::types::{NetworkInfo, NodeInfo, NodeStatus};
use crate::ccf::{CcfClient, ClientError, ErrorKind, NodeAddr};

use super::ObserveError;

/// Find a node that answers `/node/network`, trying `nodes` in order. A certificate mismatch
/// stops at once (it will not be different on the next node).
///
/// This is where every command picks the node it talks to. When none of `nodes` answers and
/// the client carries an [`AddressHints`](crate::ccf::AddressHints) (where this machine last
/// saw the service's nodes), those addresses are tried next, over the same TLS trust; a node
/// reached that way must be listed by the service as Trusted at that address. The first use
/// of the fallback is warned about, naming the addresses to put in `[service] url`.
pub(crate) async fn find_answering_node(
    client: &CcfClient,
    probe_client: &CcfClient,
    nodes: &[NodeAddr],
) -> Result<(NodeAddr, NetworkInfo), ObserveError> {
    let mut last = None;
    let mut refused = Vec::new();
    if let Some((at, info, _)) =
        first_answering(client, probe_client, nodes, false, &mut last, &mut refused).await?
    {
        return Ok((at, info));
    }
    let mut tried: Vec<NodeAddr> = nodes.to_vec();
    let mut hint: String = refused.iter().map(|r| format!("; {r}")).collect();
    if let Some(book) = client.address_book()
        && !cancelled(&last)
    {
        match from_address_book(client, probe_client, nodes, book.as_ref(), &mut last).await? {
            Remembered::Answered(at, info) => return Ok((at, info)),
            Remembered::None {
                tried: more,
                hint: h,
            } => {
                tried.extend(more);
                hint.push_str(&h);
            }
        }
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
    Err(ObserveError::NoNodeAnswered {
        tried: list(&tried),
        hint,
        last: Box::new(last.expect("at least one node is configured")),
    })
}

/// Whether the last failure was a stop request.
fn cancelled(last: &Option<ClientError>) -> bool {
    last.as_ref()
        .is_some_and(|e| matches!(*e.kind, ErrorKind::Cancelled))
}

/// What the address book gave.
enum Remembered {
    /// A remembered node answered and is listed as Trusted there.
    Answered(NodeAddr, NetworkInfo),
    /// None did: the addresses tried and what to tell the operator about them.
    None { tried: Vec<NodeAddr>, hint: String },
}

/// Try the addresses where this machine last saw the service's nodes (those not among
/// `nodes`, already tried); warn once, naming the `[service] url` line, when one answers.
async fn from_address_book(
    client: &CcfClient,
    probe_client: &CcfClient,
    nodes: &[NodeAddr],
    book: &dyn AddressHints,
    last: &mut Option<ClientError>,
) -> Result<Remembered, ObserveError> {
    let kept = book.recall();
    let mut remembered: Vec<NodeAddr> = Vec::new();
    for n in &kept {
        if !nodes.contains(&n.rpc_address) && !remembered.contains(&n.rpc_address) {
            remembered.push(n.rpc_address.clone());
        }
    }
    let mut refused = Vec::new();
    if let Some((at, info, listed)) =
        first_answering(client, probe_client, &remembered, true, last, &mut refused).await?
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
        return Ok(Remembered::Answered(at, info));
    }
    let mut hint = String::new();
    for r in &refused {
        hint.push_str(&format!("; {r}"));
    }
    let path = book.path().display();
    hint.push_str(&match (kept.len(), remembered.len()) {
        (0, _) => format!(
            "; this machine keeps no address of the service ({path}): it was never observed from here"
        ),
        (_, 0) => {
            format!("; this machine last saw the service's nodes at these same addresses ({path})")
        }
        (_, 1) => format!("; the last is where this machine last saw its nodes ({path})"),
        (_, n) => format!("; the last {n} are where this machine last saw its nodes ({path})"),
    });
    Ok(Remembered::None {
        tried: remembered,
        hint,
    })
}

/// The first of `nodes` to answer `/node/network`: one quick attempt per node first (a
/// stopped node refuses at once), then the patient client with its retries, so one dead
/// address never costs a whole back-off. With `listed`, a node must also be listed by the
/// service as Trusted at the address it was reached at (else why is added to `refused`), and
/// the service's node list is returned with it. A host name that does not resolve is added to
/// `refused` too. `Ok(None)`: none answered (`last` says why).
async fn first_answering(
    client: &CcfClient,
    probe_client: &CcfClient,
    nodes: &[NodeAddr],
    listed: bool,
    last: &mut Option<ClientError>,
    refused: &mut Vec<String>,
) -> Result<Option<(NodeAddr, NetworkInfo, Vec<NodeInfo>)>, ObserveError> {
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
                // No such host: final, and worth saying first (a typo in [service] url).
                Err(e) if matches!(*e.kind, ErrorKind::Unresolved { .. }) => {
                    refused.push(format!("the host name {} does not resolve", n.host()));
                    skip.push(n);
                    *last = Some(e);
                    continue;
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
pub(crate) fn url_line(nodes: &[NodeAddr]) -> String {
    let urls: Vec<String> = nodes.iter().map(|n| format!("{:?}", n.url())).collect();
    format!("url = [{}]", urls.join(", "))
}

/// The address to reach a node at: its published RPC address, with a wildcard bind host
/// replaced by the host we already reach the service at.
pub(crate) fn node_address(info: &NodeInfo, fallback_host: &str) -> Option<NodeAddr> {
    let addr: NodeAddr = info.rpc_address()?.parse().ok()?;
    if matches!(addr.host(), "0.0.0.0" | "::" | "") {
        return Some(NodeAddr::new(fallback_host, addr.port()));
    }
    Some(addr)
}
