//! `CcfClient`: typed access to one CCF service's node and governance endpoints.
//!
//! Every call names the node it goes to ([`NodeAddr`]): node-local facts (`/node/version`,
//! `/node/state`, readiness) must come from that node; writes may go to any node (CCF forwards
//! to the primary, or redirects and the client follows with the same TLS trust). Transient
//! failures are retried with jittered exponential back-off (backon), bounded and cancellable.
//!
//! Split by concern: the address type (`addr`), sending with retries (`transport`), the
//! node endpoints (`node`), the governance endpoints (`gov`) and the fallback addresses (`hints`).

mod addr;
mod gov;
mod hints;
mod node;
mod snapshot;
mod transport;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::error::{ClientError, ErrorKind};
use super::tls::{Pin, PinnedCertVerifier, ServiceCert, ensure_crypto_provider};
use crate::wait::Cancel;

pub use addr::NodeAddr;
pub use gov::constitution_from_body;
pub use hints::{AddressHints, KnownNode};
pub use node::NodeFilter;
pub use snapshot::{SnapshotLookup, committed_snapshot_seqno};
pub use transport::RawResponse;

/// The governance API version noderoll speaks.
pub const GOV_API_VERSION: &str = "2024-07-01";

/// Idle connections kept per node. Bounded because after an election every one of them
/// answers `SessionConsistencyLost` once before it is closed.
pub const MAX_IDLE_CONNECTIONS_PER_NODE: usize = 8;

/// How many `SessionConsistencyLost` answers one request rides out at once. An election costs
/// one per pooled connection, and the pool may hand the retry another connection of the old
/// view: more than the pool holds, so a retry always ends on a new connection.
pub const MAX_SESSION_RETRIES: usize = MAX_IDLE_CONNECTIONS_PER_NODE + 2;

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

/// A client bound to one trust anchor. Cheap to clone.
#[derive(Clone)]
pub struct CcfClient {
    inner: Arc<Inner>,
    /// Where the service's nodes were last seen (see [`CcfClient::with_address_book`]).
    addresses: Option<Arc<dyn AddressHints>>,
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
    pub fn with_address_book(mut self, book: Arc<dyn AddressHints>) -> Self {
        self.addresses = Some(book);
        self
    }

    /// The book given to [`CcfClient::with_address_book`].
    pub fn address_book(&self) -> Option<&Arc<dyn AddressHints>> {
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
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                // A named snapshot is the file itself (gigabytes): `/node/snapshot` is asked
                // where it is, never for it (`snapshot::latest_snapshot` reads `Location`).
                if attempt
                    .url()
                    .path()
                    .starts_with(snapshot::NAMED_SNAPSHOT_PATH)
                {
                    attempt.stop()
                } else if attempt.previous().len() >= 5 {
                    attempt.error("too many redirects")
                } else {
                    attempt.follow()
                }
            }))
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
}
