//! The engine's eyes: observing the service again and again, through the nodes seen last
//! time and then the plan's addresses, looking again when a look fails for a passing reason.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::error::EngineError;
use crate::ccf::types::NodeStatus;
use crate::ccf::{CcfClient, NodeAddr};
use crate::observe::{Observation, ProbeCache, view_of};
use crate::plan::{NodeView, ServiceView};
use crate::wait::{Cancel, Poller};

/// The seqno of the snapshot the service's primary started from, read once per command and
/// shared by the engines it builds (preview, run, rollback): it decides the `[nodes]
/// fresh_snapshot` default, and no observation should pay a request for it. Unset until
/// asked; `None` once asked: it could not be read.
#[derive(Debug, Clone, Default)]
pub(crate) struct PrimaryStart(Arc<OnceLock<Option<u64>>>);

/// Observes one service for a run, remembering where its trusted nodes answered.
pub(crate) struct Observer {
    client: CcfClient,
    probe: CcfClient,
    seeds: Vec<NodeAddr>,
    known: Vec<NodeAddr>,
    probes: ProbeCache,
    cancel: Cancel,
    primary_start: PrimaryStart,
}

impl Observer {
    /// An observer of the service at `seeds` (the plan's addresses).
    pub(crate) fn new(
        client: CcfClient,
        probe: CcfClient,
        seeds: Vec<NodeAddr>,
        cancel: Cancel,
        primary_start: PrimaryStart,
    ) -> Self {
        Observer {
            client,
            probe,
            seeds,
            known: Vec::new(),
            probes: ProbeCache::default(),
            cancel,
            primary_start,
        }
    }

    /// Observe the service (read-only), through the nodes seen last time and then the plan's
    /// addresses: the plan may name nodes this run has since retired.
    pub(crate) async fn look(&mut self) -> Result<(Observation, ServiceView), EngineError> {
        let mut order = self.known.clone();
        order.extend(
            self.node_order(None)
                .into_iter()
                .filter(|a| !self.known.contains(a)),
        );
        // An observation reads a dozen endpoints; on a busy service one of them can still
        // fail after its own retries. Look again a few times before giving up.
        let mut poller = Poller::new(Duration::from_millis(100), Duration::from_secs(1));
        let mut attempt = 1;
        let obs = loop {
            match crate::observe::observe_cached(&self.client, &self.probe, &order, &self.probes)
                .await
            {
                Ok(obs) => break obs,
                Err(e) if attempt < 4 && e.is_transient() && !self.cancel.is_cancelled() => {
                    attempt += 1;
                    tracing::debug!("observation failed, looking again: {e}");
                    if !self.cancel.sleep(poller.next_delay()).await {
                        return Err(e.into());
                    }
                }
                Err(e) => return Err(e.into()),
            }
        };
        let mut view = view_of(&obs);
        view.primary_startup_seqno = self.primary_startup_seqno(&view).await;
        self.known = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted && n.reachable)
            .filter_map(|n| n.address.clone())
            .collect();
        Ok((obs, view))
    }

    /// The primary's `startup_seqno` (`GET /node/state`), asked the first time a primary with an
    /// address is seen and remembered, answered or not.
    async fn primary_startup_seqno(&self, view: &ServiceView) -> Option<u64> {
        if let Some(known) = self.primary_start.0.get() {
            return *known;
        }
        let primary = view.primary.as_ref()?;
        let at = view.nodes.iter().find(|n| &n.node_id == primary)?;
        let read = match self.client.state(at.address.as_ref()?).await {
            Ok(state) => Some(state.startup_seqno),
            Err(e) => {
                tracing::debug!("the primary's startup seqno could not be read: {e}");
                None
            }
        };
        *self.primary_start.0.get_or_init(|| read)
    }

    /// Nodes of the service as last observed, then the plan's addresses.
    pub(crate) fn known_nodes(&self) -> Vec<NodeAddr> {
        let mut out = self.known.clone();
        out.extend(
            self.seeds
                .iter()
                .filter(|a| !self.known.contains(a))
                .cloned(),
        );
        out
    }

    /// A node that is gone: not to be asked first next time.
    pub(crate) fn forget(&mut self, address: &NodeAddr) {
        self.known.retain(|k| k != address);
    }

    /// Addresses to talk to: known trusted nodes (primary first), then the plan's seeds.
    pub(crate) fn node_order(&self, view: Option<&ServiceView>) -> Vec<NodeAddr> {
        node_order(view, &self.seeds)
    }

    /// [`Observer::node_order`] without the node `avoid` (one being retired).
    pub(crate) fn nodes_but(&self, view: &ServiceView, avoid: Option<&str>) -> Vec<NodeAddr> {
        let mut order = self.node_order(Some(view));
        if let Some(avoid) = avoid
            && let Some(addr) = view
                .nodes
                .iter()
                .find(|n| n.node_id == avoid)
                .and_then(|n| n.address.clone())
        {
            order.retain(|a| *a != addr);
        }
        order
    }
}

/// Reachable, ready trusted nodes of `view` (primary first), then `seeds` not among them.
fn node_order(view: Option<&ServiceView>, seeds: &[NodeAddr]) -> Vec<NodeAddr> {
    let mut out = Vec::new();
    if let Some(v) = view {
        let mut trusted: Vec<&NodeView> = v
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted && n.reachable && n.ready)
            .collect();
        trusted.sort_by_key(|n| v.primary.as_deref() != Some(n.node_id.as_str()));
        out.extend(trusted.iter().filter_map(|n| n.address.clone()));
    }
    for s in seeds {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::fixtures::{NEW, node, service};

    #[test]
    fn node_order_puts_the_primary_first_then_ready_trusted_nodes_then_seeds() {
        let mut nodes = vec![
            node(1, NodeStatus::Trusted, "aa"),
            node(2, NodeStatus::Trusted, "aa"),
            node(3, NodeStatus::Pending, NEW),
            node(4, NodeStatus::Trusted, "aa"),
        ];
        nodes[2].ready = false;
        nodes[3].ready = false;
        let mut view = service(nodes, &["aa"]);
        view.primary = Some(view.nodes[1].node_id.clone());
        let seeds = vec![NodeAddr::new("127.0.0.1", 1001), NodeAddr::new("seed", 1)];
        let order = node_order(Some(&view), &seeds);
        let port = |a: &NodeAddr| a.port();
        assert_eq!(
            order.iter().map(port).collect::<Vec<_>>(),
            vec![1002, 1001, 1]
        );
        assert_eq!(node_order(None, &seeds), seeds);
    }
}
