//! The node endpoints (`/node/*`).

use reqwest::Method;

use super::CcfClient;
use super::addr::NodeAddr;
use crate::ccf::error::ClientError;
use crate::ccf::types::{
    CommitInfo, ConsensusInfo, NetworkInfo, NodeInfo, NodeList, NodeStateInfo, NodeStatus, Quote,
    TxId, TxStatus, TxStatusInfo, VersionInfo,
};

/// Filters for `GET /node/network/nodes`.
#[derive(Debug, Clone, Default)]
pub struct NodeFilter {
    /// Match `published_address` host of any interface.
    pub host: Option<String>,
    /// Match `published_address` port.
    pub port: Option<u16>,
    /// Only nodes in this status.
    pub status: Option<NodeStatus>,
}

impl CcfClient {
    /// `GET /node/network`: status, current view and primary as this node sees them.
    pub async fn network(&self, node: &NodeAddr) -> Result<NetworkInfo, ClientError> {
        self.get_json(node, "/node/network").await
    }

    /// `GET /node/network/nodes` with optional filters.
    pub async fn nodes(
        &self,
        node: &NodeAddr,
        filter: &NodeFilter,
    ) -> Result<Vec<NodeInfo>, ClientError> {
        let mut q = Vec::new();
        if let Some(h) = &filter.host {
            q.push(format!("host={}", urlencode(h)));
        }
        if let Some(p) = filter.port {
            q.push(format!("port={p}"));
        }
        if let Some(s) = filter.status {
            q.push(format!("status={s}"));
        }
        let path = if q.is_empty() {
            "/node/network/nodes".to_string()
        } else {
            format!("/node/network/nodes?{}", q.join("&"))
        };
        Ok(self.get_json::<NodeList>(node, &path).await?.nodes)
    }

    /// `GET /node/network/nodes/{id}`; `None` if the service does not know the node.
    pub async fn node(&self, node: &NodeAddr, id: &str) -> Result<Option<NodeInfo>, ClientError> {
        self.get_json_opt(node, &format!("/node/network/nodes/{id}"))
            .await
    }

    /// `GET /node/network/nodes/self`.
    pub async fn node_self(&self, node: &NodeAddr) -> Result<NodeInfo, ClientError> {
        self.get_json(node, "/node/network/nodes/self").await
    }

    /// `GET /node/network/nodes/primary` (a JSON body, or a 308 to the primary's own entry on
    /// older builds; the redirect is followed with the same TLS trust).
    pub async fn primary(&self, node: &NodeAddr) -> Result<NodeInfo, ClientError> {
        self.get_json(node, "/node/network/nodes/primary").await
    }

    /// `GET /node/network/removable_nodes`: retired nodes whose retirement is committed.
    pub async fn removable_nodes(&self, node: &NodeAddr) -> Result<Vec<NodeInfo>, ClientError> {
        Ok(self
            .get_json::<NodeList>(node, "/node/network/removable_nodes")
            .await?
            .nodes)
    }

    /// `DELETE /node/network/nodes/{id}`; returns the transaction to wait for.
    pub async fn delete_node(
        &self,
        node: &NodeAddr,
        id: &str,
    ) -> Result<Option<TxId>, ClientError> {
        let path = format!("/node/network/nodes/{id}");
        let r = self.request(Method::DELETE, node, &path, None).await?;
        Ok(r.txid)
    }

    /// `GET /node/version` of this very node.
    pub async fn version(&self, node: &NodeAddr) -> Result<VersionInfo, ClientError> {
        self.get_json(node, "/node/version").await
    }

    /// `GET /node/state` of this very node.
    pub async fn state(&self, node: &NodeAddr) -> Result<NodeStateInfo, ClientError> {
        self.get_json(node, "/node/state").await
    }

    async fn ready(&self, node: &NodeAddr, path: &str) -> Result<bool, ClientError> {
        // CCF answers "not ready" with an empty-bodied 503: an answer, not a failure. A 503
        // carrying an error body is an overloaded or failing node: retried like any other.
        let url = Self::url(node, path);
        let policy = &self.inner.opts.retry;
        let mut attempt = 1;
        loop {
            match self.execute_once(&Method::GET, &url, None).await {
                Ok(_) => return Ok(true),
                Err(e) if e.status() == Some(503) && e.code().is_none() => return Ok(false),
                Err(e) if e.status() == Some(503) && attempt < policy.max_attempts => {
                    attempt += 1;
                    if !self.inner.cancel.sleep(policy.min_delay).await {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `GET /node/ready/gov`: 204 when the node serves governance.
    pub async fn ready_gov(&self, node: &NodeAddr) -> Result<bool, ClientError> {
        self.ready(node, "/node/ready/gov").await
    }

    /// `GET /node/commit`.
    pub async fn commit(&self, node: &NodeAddr) -> Result<CommitInfo, ClientError> {
        self.get_json(node, "/node/commit").await
    }

    /// `GET /node/tx?transaction_id=V.S`.
    pub async fn tx_status(&self, node: &NodeAddr, txid: TxId) -> Result<TxStatus, ClientError> {
        Ok(self
            .get_json::<TxStatusInfo>(node, &format!("/node/tx?transaction_id={txid}"))
            .await?
            .status)
    }

    /// `GET /node/consensus`.
    pub async fn consensus(&self, node: &NodeAddr) -> Result<ConsensusInfo, ClientError> {
        self.get_json(node, "/node/consensus").await
    }

    /// `GET /node/quotes/self`: the node's own row of its local store, so `404
    /// ResourceNotFound` on a node that is not yet trusted and caught up
    /// (`base_endpoint_registry.cpp`, `get_quote_for_this_node_v1`).
    pub async fn quote_self(&self, node: &NodeAddr) -> Result<Quote, ClientError> {
        self.get_json(node, "/node/quotes/self").await
    }

    /// `GET /node/quotes`: the quotes of every Trusted node as the answering node's store
    /// holds them (`get_quotes_for_all_trusted_nodes_v1`), including nodes that are down.
    /// `None` where the endpoint does not exist.
    pub async fn quotes(&self, node: &NodeAddr) -> Result<Option<Vec<Quote>>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Quotes {
            quotes: Vec<Quote>,
        }
        Ok(self
            .get_json_opt::<Quotes>(node, "/node/quotes")
            .await?
            .map(|q| q.quotes))
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
