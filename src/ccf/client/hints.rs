//! Addresses to fall back on: where a service's nodes were last seen, kept outside the client.
//!
//! The client only carries them (see [`CcfClient::with_address_book`](super::CcfClient::with_address_book));
//! whoever builds it decides where they are kept (the journal's `AddressBook`, a file in the
//! service's state directory), so this layer depends on no storage.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::NodeAddr;

/// A Trusted node of the service and where it was reached.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KnownNode {
    /// Node id.
    pub node_id: String,
    /// Its RPC address (`host:port`).
    pub rpc_address: NodeAddr,
}

/// Where a service's nodes were last seen: other addresses to try when none of the configured
/// ones answers, kept current by every observation. A hint, never trusted by itself: a node
/// reached through it must still pass the client's TLS trust.
pub trait AddressHints: fmt::Debug + Send + Sync {
    /// Where the hints are kept, to name in messages.
    fn path(&self) -> &Path;

    /// The nodes kept (none when nothing is kept or it cannot be read).
    fn recall(&self) -> Vec<KnownNode>;

    /// Keep `nodes` as the service's Trusted nodes. Failing to keep them loses the fallback,
    /// not the command.
    fn remember(&self, nodes: Vec<KnownNode>);

    /// Record that the service was reached only through these addresses; true the first time
    /// (one warning per command).
    fn note_fallback(&self) -> bool;

    /// Whether this command reached the service only through these addresses.
    fn fell_back(&self) -> bool;
}
