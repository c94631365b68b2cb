//! The CCF client: node and governance endpoints, TLS trust, errors and retries.

pub(crate) mod actions;
pub mod client;
pub mod error;
pub mod governance;
pub mod tls;
pub mod types;

pub use client::{
    AddressHints, CcfClient, ClientOptions, GOV_API_VERSION, KnownNode, NodeAddr, NodeFilter,
    RetryPolicy, SnapshotLookup, committed_snapshot_seqno,
};
pub use error::{ClientError, ErrorKind, Retry};
pub use tls::{Pin, ServiceCert, TrustError};
