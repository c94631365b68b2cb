//! `CcfClient`: typed access to one CCF service's node and governance endpoints.
//!
//! Every call names the node it goes to ([`NodeAddr`]): node-local facts (`/node/version`,
//! `/node/state`, readiness) must come from that node; writes may go to any node (CCF forwards
//! to the primary, or redirects and the client follows with the same TLS trust). Transient
//! failures are retried with jittered exponential back-off (backon), bounded and cancellable.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::BackoffBuilder;
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::error::{ClientError, ErrorKind, Retry, parse_error_body, parse_retry_after};
use super::tls::{
    Pin, PinnedCertVerifier, ServiceCert, describe_cert_error, ensure_crypto_provider,
};
use super::types::*;
use crate::wait::Cancel;

/// The governance API version noderoll speaks.
pub const GOV_API_VERSION: &str = "2024-07-01";

/// Idle connections kept per node. Bounded because after an election every one of them
/// answers `SessionConsistencyLost` once before it is closed.
pub const MAX_IDLE_CONNECTIONS_PER_NODE: usize = 8;

/// How many `SessionConsistencyLost` answers one request rides out at once. An election costs
/// one per pooled connection, and the pool may hand the retry another connection of the old
/// view: more than the pool holds, so a retry always ends on a new connection.
pub const MAX_SESSION_RETRIES: usize = MAX_IDLE_CONNECTIONS_PER_NODE + 2;

/// The address of one node's RPC interface, `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeAddr {
    host: String,
    port: u16,
}

impl NodeAddr {
    /// From parts.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        NodeAddr {
            host: host.into(),
            port,
        }
    }

    /// Host part (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://host:port`, as `[service] url` takes it.
    pub fn url(&self) -> String {
        self.base()
    }

    fn base(&self) -> String {
        if self.host.contains(':') {
            format!("https://[{}]:{}", self.host, self.port)
        } else {
            format!("https://{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl serde::Serialize for NodeAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for NodeAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl FromStr for NodeAddr {
    type Err = String;

    /// Accepts `host:port`, `[v6]:port` or `https://host:port[/]`; refuses plain `http://`
    /// because CCF only serves HTTPS.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let rest = if let Some(r) = s.strip_prefix("https://") {
            r
        } else if s.starts_with("http://") {
            return Err(format!(
                "{s:?} uses http://: CCF nodes only serve HTTPS, use https://"
            ));
        } else if s.contains("://") {
            return Err(format!("{s:?}: only https:// addresses are supported"));
        } else {
            s
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err(format!(
                "{s:?}: give the node address only (host:port), without a path"
            ));
        }
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, p) = r
                .split_once("]:")
                .ok_or_else(|| format!("{s:?} is not [ipv6]:port"))?;
            (h, p)
        } else {
            rest.rsplit_once(':')
                .ok_or_else(|| format!("{s:?} has no port (expected host:port)"))?
        };
        if host.is_empty() {
            return Err(format!("{s:?} has an empty host"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{s:?} has an invalid port {port:?}"))?;
        if port == 0 {
            return Err(format!("{s:?}: port 0 is not a node address"));
        }
        Ok(NodeAddr {
            host: host.to_string(),
            port,
        })
    }
}

/// How persistent the client is with transient failures.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total (1 = no retry).
    pub max_attempts: usize,
    /// First back-off delay.
    pub min_delay: Duration,
    /// Largest back-off delay.
    pub max_delay: Duration,
    /// Attempts at a node where nothing answers (connection refused, timeout), within
    /// `max_attempts`: callers that know other nodes fail over instead of waiting on a
    /// stopped one (probes: 1), while a busy node's 503s and dropped connections are still
    /// ridden out.
    pub unreachable_attempts: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            unreachable_attempts: 2,
        }
    }
}

/// Client tuning.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole-request timeout (also bounds a slow-drip body).
    pub request_timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// Largest accepted response body (the default constitution is ~100 KB).
    pub max_body_bytes: usize,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_body_bytes: 4 * 1024 * 1024,
            retry: RetryPolicy::default(),
        }
    }
}

#[derive(Debug, Clone)]
enum Trust {
    Service(PathBuf),
    Pinned(String),
}

struct Inner {
    http: reqwest::Client,
    trust: Trust,
    opts: ClientOptions,
    cancel: Cancel,
    requests: AtomicU64,
}

/// A successful raw response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status code (2xx).
    pub status: u16,
    /// Body bytes (size-limited).
    pub body: Vec<u8>,
    /// `x-ms-ccf-transaction-id`, if present and well-formed.
    pub txid: Option<TxId>,
}

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

/// A client bound to one trust anchor. Cheap to clone.
#[derive(Clone)]
pub struct CcfClient {
    inner: Arc<Inner>,
    /// Where the service's nodes were last seen (see [`CcfClient::with_address_book`]).
    addresses: Option<Arc<crate::journal::AddressBook>>,
}

impl fmt::Debug for CcfClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CcfClient")
            .field("trust", &self.inner.trust)
            .finish()
    }
}

impl CcfClient {
    /// A client that trusts exactly `service_cert` (for every node whose interface presents a
    /// service-endorsed certificate).
    pub fn new(
        service_cert: &ServiceCert,
        opts: ClientOptions,
        cancel: Cancel,
    ) -> Result<Self, ClientError> {
        Self::build(
            service_cert.client_config(),
            Trust::Service(service_cert.path().to_path_buf()),
            opts,
            cancel,
        )
    }

    /// A client that accepts only the pinned identity: a joining node that still presents its
    /// self-signed certificate, pinned by certificate hash or by its node id.
    pub fn pinned(pin: Pin, opts: ClientOptions, cancel: Cancel) -> Result<Self, ClientError> {
        let config = PinnedCertVerifier::new(pin).client_config();
        Self::build(config, Trust::Pinned(pin.describe()), opts, cancel)
    }

    /// A client with the same options and cancellation, trusting only `pin`.
    pub fn with_pin(&self, pin: Pin) -> Result<Self, ClientError> {
        Self::pinned(pin, self.inner.opts.clone(), self.inner.cancel.clone())
    }

    /// This client, carrying where the service's nodes were last seen. The client itself
    /// never reads it: every observation made with it keeps the book current, and when none
    /// of the configured addresses answers, the node to talk to is looked for there
    /// (`observe::find_answering_node`), over this same TLS trust.
    pub fn with_address_book(mut self, book: Arc<crate::journal::AddressBook>) -> Self {
        self.addresses = Some(book);
        self
    }

    /// The book given to [`CcfClient::with_address_book`].
    pub fn address_book(&self) -> Option<&Arc<crate::journal::AddressBook>> {
        self.addresses.as_ref()
    }

    fn build(
        config: rustls::ClientConfig,
        trust: Trust,
        opts: ClientOptions,
        cancel: Cancel,
    ) -> Result<Self, ClientError> {
        ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .https_only(true)
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS_PER_NODE)
            .user_agent(concat!("noderoll/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ClientError::new(
                    "-",
                    "-",
                    ErrorKind::Tls(format!("cannot build the HTTPS client: {e}")),
                )
            })?;
        Ok(CcfClient {
            inner: Arc::new(Inner {
                http,
                trust,
                opts,
                cancel,
                requests: AtomicU64::new(0),
            }),
            addresses: None,
        })
    }

    /// Requests sent so far (including retries), for load accounting.
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The cancellation token requests obey.
    pub fn cancel_token(&self) -> &Cancel {
        &self.inner.cancel
    }

    fn url(node: &NodeAddr, path_and_query: &str) -> String {
        format!("{}{}", node.base(), path_and_query)
    }

    /// One attempt, no retry.
    async fn execute_once(
        &self,
        method: &Method,
        url: &str,
        body: Option<(&'static str, &[u8])>,
    ) -> Result<RawResponse, ClientError> {
        let err = |kind| ClientError::new(method.to_string(), url, kind);
        let mut req = self.inner.http.request(method.clone(), url);
        if let Some((content_type, bytes)) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes.to_vec());
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let mut resp = req.send().await.map_err(|e| err(self.map_transport(e)))?;
        let status = resp.status().as_u16();
        // Method, URL and status only: bodies carry signed governance requests.
        tracing::trace!(
            "{method} {url} -> {status} in {} ms",
            started.elapsed().as_millis()
        );
        let txid = resp
            .headers()
            .get("x-ms-ccf-transaction-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<TxId>().ok());
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let limit = self.inner.opts.max_body_bytes;
        if resp.content_length().is_some_and(|l| l as usize > limit) {
            return Err(err(ErrorKind::BodyTooLarge { limit }));
        }
        let mut buf = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| err(self.map_transport(e)))? {
            if buf.len() + chunk.len() > limit {
                return Err(err(ErrorKind::BodyTooLarge { limit }));
            }
            buf.extend_from_slice(&chunk);
        }
        if !(200..300).contains(&status) {
            let (code, message) = parse_error_body(&buf);
            return Err(err(ErrorKind::Http {
                status,
                code,
                message,
                retry_after,
            }));
        }
        Ok(RawResponse {
            status,
            body: buf,
            txid,
        })
    }

    fn map_transport(&self, e: reqwest::Error) -> ErrorKind {
        if e.is_redirect() {
            return ErrorKind::TooManyRedirects;
        }
        if let Some(tls) = find_rustls_error(&e) {
            return match (tls, &self.inner.trust) {
                (rustls::Error::InvalidCertificate(ce), Trust::Service(path)) => match ce {
                    rustls::CertificateError::BadSignature
                    | rustls::CertificateError::UnknownIssuer
                    | rustls::CertificateError::BadEncoding => ErrorKind::ServiceCertMismatch {
                        service_cert: path.clone(),
                        detail: describe_cert_error(ce),
                    },
                    other => ErrorKind::Tls(describe_cert_error(other)),
                },
                (rustls::Error::InvalidCertificate(ce), Trust::Pinned(pin)) => {
                    ErrorKind::PinnedCertMismatch {
                        expected: pin.clone(),
                        detail: format!("{ce:?}"),
                    }
                }
                (other, _) => ErrorKind::Tls(other.to_string()),
            };
        }
        if e.is_timeout() {
            return ErrorKind::Timeout;
        }
        ErrorKind::Connect(root_cause(&e))
    }

    /// Send with retries of transient failures. A `500 SessionConsistencyLost` (the
    /// connection predates a view change) is retried at once, up to
    /// [`MAX_SESSION_RETRIES`] times, outside the back-off budget.
    pub async fn request(
        &self,
        method: Method,
        node: &NodeAddr,
        path_and_query: &str,
        body: Option<(&'static str, &[u8])>,
    ) -> Result<RawResponse, ClientError> {
        let url = Self::url(node, path_and_query);
        let policy = &self.inner.opts.retry;
        let mut delays = backon::ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_attempts.saturating_sub(1))
            .with_jitter()
            .build();
        let mut unreachable = 0;
        let mut session_retries = 0;
        loop {
            if self.inner.cancel.is_cancelled() {
                return Err(ClientError::new(
                    method.to_string(),
                    url,
                    ErrorKind::Cancelled,
                ));
            }
            let err = match self.execute_once(&method, &url, body).await {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            // A session closed by a view change: the same request on a new connection, at
            // once and without spending the back-off (every pooled connection meets this
            // once after an election). Bounded: a node that keeps answering it is not well.
            if err.is_session_lost() && session_retries < MAX_SESSION_RETRIES {
                session_retries += 1;
                tracing::debug!(%err, "session closed by a view change, retrying on a new connection");
                continue;
            }
            let Retry::Transient(after) = err.retry() else {
                return Err(err);
            };
            if err.is_absent() {
                unreachable += 1;
                if unreachable >= policy.unreachable_attempts {
                    return Err(err);
                }
            }
            let Some(delay) = delays.next() else {
                return Err(err);
            };
            let delay = after.map_or(delay, |a| a.max(delay));
            tracing::debug!(%err, ?delay, "transient failure, retrying");
            if !self.inner.cancel.sleep(delay).await {
                return Err(err);
            }
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        node: &NodeAddr,
        path: &str,
    ) -> Result<T, ClientError> {
        let r = self.request(Method::GET, node, path, None).await?;
        decode(&Self::url(node, path), "GET", &r.body)
    }

    /// Like `get_json` but 404 becomes `None`.
    async fn get_json_opt<T: DeserializeOwned>(
        &self,
        node: &NodeAddr,
        path: &str,
    ) -> Result<Option<T>, ClientError> {
        match self.get_json(node, path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // ----- node endpoints -------------------------------------------------------------

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

    /// `GET /node/ready/app`: 204 when the node serves application requests.
    pub async fn ready_app(&self, node: &NodeAddr) -> Result<bool, ClientError> {
        self.ready(node, "/node/ready/app").await
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

    // ----- governance reads -----------------------------------------------------------

    fn gov(path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}api-version={GOV_API_VERSION}")
    }

    async fn gov_list<T: DeserializeOwned>(
        &self,
        node: &NodeAddr,
        path: &str,
    ) -> Result<Vec<T>, ClientError> {
        let mut out = Vec::new();
        let mut next = Some(Self::gov(path));
        // CCF does not page today; follow same-origin `nextLink`s defensively, boundedly.
        for _ in 0..100 {
            let Some(p) = next.take() else { break };
            let page: ValueList<T> = self.get_json(node, &p).await?;
            out.extend(page.value);
            next = page.next_link.and_then(|l| same_origin_path(node, &l));
        }
        Ok(out)
    }

    /// `GET /gov/members/proposals`.
    pub async fn proposals(&self, node: &NodeAddr) -> Result<Vec<Proposal>, ClientError> {
        self.gov_list(node, "/gov/members/proposals").await
    }

    /// `GET /gov/members/proposals/{id}`; `None` on 404 (unknown, or purged after completing).
    pub async fn proposal(
        &self,
        node: &NodeAddr,
        id: &str,
    ) -> Result<Option<Proposal>, ClientError> {
        self.get_json_opt(node, &Self::gov(&format!("/gov/members/proposals/{id}")))
            .await
    }

    /// `GET /gov/members/proposals/{id}/actions`.
    pub async fn proposal_actions(
        &self,
        node: &NodeAddr,
        id: &str,
    ) -> Result<Option<ProposalBody>, ClientError> {
        self.get_json_opt(
            node,
            &Self::gov(&format!("/gov/members/proposals/{id}/actions")),
        )
        .await
    }

    /// `GET /gov/service/members`.
    pub async fn members(&self, node: &NodeAddr) -> Result<Vec<Member>, ClientError> {
        self.gov_list(node, "/gov/service/members").await
    }

    /// `GET /gov/service/members/{id}`.
    pub async fn member(&self, node: &NodeAddr, id: &str) -> Result<Option<Member>, ClientError> {
        self.get_json_opt(node, &Self::gov(&format!("/gov/service/members/{id}")))
            .await
    }

    /// `GET /gov/service/nodes` (with `retiredCommitted` and `quoteInfo`).
    pub async fn gov_nodes(&self, node: &NodeAddr) -> Result<Vec<GovNode>, ClientError> {
        self.gov_list(node, "/gov/service/nodes").await
    }

    /// `GET /gov/service/nodes/{id}`.
    pub async fn gov_node(
        &self,
        node: &NodeAddr,
        id: &str,
    ) -> Result<Option<GovNode>, ClientError> {
        self.get_json_opt(node, &Self::gov(&format!("/gov/service/nodes/{id}")))
            .await
    }

    /// `GET /gov/service/join-policy`: registered code versions.
    pub async fn join_policy(&self, node: &NodeAddr) -> Result<JoinPolicy, ClientError> {
        self.get_json(node, &Self::gov("/gov/service/join-policy"))
            .await
    }

    /// `GET /gov/service/info`.
    pub async fn service_info(&self, node: &NodeAddr) -> Result<ServiceInfo, ClientError> {
        self.get_json(node, &Self::gov("/gov/service/info")).await
    }

    /// `GET /gov/service/constitution` (JavaScript source). CCF serves raw `text/javascript`;
    /// the 2024-07-01 schema also allows `{"constitution": "..."}` as JSON: both are accepted.
    pub async fn constitution(&self, node: &NodeAddr) -> Result<String, ClientError> {
        let path = Self::gov("/gov/service/constitution");
        let r = self.request(Method::GET, node, &path, None).await?;
        constitution_from_body(&r.body).ok_or_else(|| {
            ClientError::new(
                "GET",
                Self::url(node, &path),
                ErrorKind::Decode(
                    "constitution is neither JavaScript text nor {\"constitution\": ...}".into(),
                ),
            )
        })
    }

    /// `GET /gov/service/transactions/{id}`.
    pub async fn gov_tx_status(
        &self,
        node: &NodeAddr,
        txid: TxId,
    ) -> Result<TxStatus, ClientError> {
        Ok(self
            .get_json::<GovTxStatus>(
                node,
                &Self::gov(&format!("/gov/service/transactions/{txid}")),
            )
            .await?
            .status)
    }

    // ----- governance writes (bodies are COSE Sign1, signed by the caller) --------------

    async fn post_cose(
        &self,
        node: &NodeAddr,
        path: &str,
        cose: &[u8],
    ) -> Result<RawResponse, ClientError> {
        self.request(
            Method::POST,
            node,
            &Self::gov(path),
            Some(("application/cose", cose)),
        )
        .await
    }

    /// `POST /gov/members/proposals:create`.
    pub async fn create_proposal(
        &self,
        node: &NodeAddr,
        cose: &[u8],
    ) -> Result<(Proposal, Option<TxId>), ClientError> {
        let path = "/gov/members/proposals:create";
        let r = self.post_cose(node, path, cose).await?;
        Ok((decode(&Self::url(node, path), "POST", &r.body)?, r.txid))
    }

    /// `POST /gov/members/proposals/{id}/ballots/{member}:submit`.
    pub async fn submit_ballot(
        &self,
        node: &NodeAddr,
        proposal_id: &str,
        member_id: &str,
        cose: &[u8],
    ) -> Result<(Proposal, Option<TxId>), ClientError> {
        let path = format!("/gov/members/proposals/{proposal_id}/ballots/{member_id}:submit");
        let r = self.post_cose(node, &path, cose).await?;
        Ok((decode(&Self::url(node, &path), "POST", &r.body)?, r.txid))
    }

    /// `POST /gov/members/proposals/{id}:withdraw`; `None` when the proposal is unknown (204).
    pub async fn withdraw_proposal(
        &self,
        node: &NodeAddr,
        proposal_id: &str,
        cose: &[u8],
    ) -> Result<Option<Proposal>, ClientError> {
        let path = format!("/gov/members/proposals/{proposal_id}:withdraw");
        let r = self.post_cose(node, &path, cose).await?;
        if r.status == 204 || r.body.is_empty() {
            return Ok(None);
        }
        Ok(Some(decode(&Self::url(node, &path), "POST", &r.body)?))
    }
}

fn decode<T: DeserializeOwned>(url: &str, method: &str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
            format!("JSON does not match what this endpoint returns: {e}")
        } else {
            let (_, excerpt) = parse_error_body(body);
            format!("not JSON ({e}); body starts with {excerpt:?}")
        };
        ClientError::new(method, url, ErrorKind::Decode(what))
    })
}

/// The constitution from a response body: raw UTF-8 JavaScript, or a JSON object with a
/// `constitution` string.
pub fn constitution_from_body(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Wrapped {
        constitution: String,
    }
    if let Ok(w) = serde_json::from_slice::<Wrapped>(body) {
        return Some(w.constitution);
    }
    String::from_utf8(body.to_vec()).ok()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn same_origin_path(node: &NodeAddr, link: &str) -> Option<String> {
    if link.starts_with('/') {
        return Some(link.to_string());
    }
    let u = url::Url::parse(link).ok()?;
    let same = u.scheme() == "https"
        && u.host_str().map(|h| h.trim_matches(['[', ']'])) == Some(node.host())
        && u.port_or_known_default() == Some(node.port());
    same.then(|| match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    })
}

/// Find a rustls error inside a reqwest error. `io::Error::source()` skips the error it wraps,
/// so the walk also looks through `io::Error::get_ref()`.
fn find_rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(t) = find_rustls_error(inner)
        {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        last = err.to_string();
        cur = err.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addresses() {
        assert_eq!(
            "10.0.0.4:8000".parse::<NodeAddr>().unwrap(),
            NodeAddr::new("10.0.0.4", 8000)
        );
        assert_eq!(
            "https://n1.example:443/".parse::<NodeAddr>().unwrap(),
            NodeAddr::new("n1.example", 443)
        );
        let v6 = "[::1]:8080".parse::<NodeAddr>().unwrap();
        assert_eq!(v6.host(), "::1");
        assert_eq!(v6.to_string(), "[::1]:8080");
        assert_eq!(v6.base(), "https://[::1]:8080");
        let e = "http://10.0.0.4:8000".parse::<NodeAddr>().unwrap_err();
        assert!(e.contains("https://"), "{e}");
        assert!("10.0.0.4".parse::<NodeAddr>().is_err());
        assert!("10.0.0.4:0".parse::<NodeAddr>().is_err());
        assert!("10.0.0.4:99999".parse::<NodeAddr>().is_err());
        assert!("https://h:1/app".parse::<NodeAddr>().is_err());
    }

    #[test]
    fn next_links_only_followed_on_the_same_node() {
        let n = NodeAddr::new("127.0.0.1", 8000);
        assert_eq!(
            same_origin_path(&n, "/gov/x?a=1").as_deref(),
            Some("/gov/x?a=1")
        );
        assert_eq!(
            same_origin_path(&n, "https://127.0.0.1:8000/gov/x?api-version=2024-07-01").as_deref(),
            Some("/gov/x?api-version=2024-07-01")
        );
        assert_eq!(same_origin_path(&n, "https://microsoft.com/avwpnzmy"), None);
    }
}
