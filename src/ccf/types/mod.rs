//! Response and request types of CCF's node API (`/node/*`, snake_case) and governance API
//! `2024-07-01` (`/gov/*`, camelCase). Unknown fields are ignored and unknown enum values are
//! kept as `Unknown`, so newer CCF releases stay readable; fields the tool relies on are
//! required, so a malformed answer is an error naming the endpoint.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod gov;
mod node;

pub use gov::*;
pub use node::*;

/// A node id: lowercase hex SHA-256 of the node's public key (64 chars).
pub type NodeId = String;
/// A member id: lowercase hex SHA-256 of the member certificate DER.
pub type MemberId = String;
/// A proposal id (64 hex).
pub type ProposalId = String;

/// True for a 64-char lowercase hex string (node, member and proposal ids).
pub fn is_hex_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The first 8 characters of an id, as people read node, member and proposal ids; the whole
/// id when it is shorter (or when the 8th character would split a multi-byte one).
pub(crate) fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A transaction id `view.seqno`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxId {
    /// Consensus view (term) the transaction was created in.
    pub view: u64,
    /// Sequence number in the ledger.
    pub seqno: u64,
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.view, self.seqno)
    }
}

impl FromStr for TxId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (v, n) = s
            .split_once('.')
            .ok_or_else(|| format!("transaction id {s:?} is not VIEW.SEQNO"))?;
        let parse = |x: &str| {
            x.parse::<u64>()
                .map_err(|_| format!("transaction id {s:?} is not VIEW.SEQNO"))
        };
        Ok(TxId {
            view: parse(v)?,
            seqno: parse(n)?,
        })
    }
}

impl Serialize for TxId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TxId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[doc = concat!("`", stringify!($variant), "`")] $variant,)*
            /// A value this version of noderoll does not know.
            #[serde(other)]
            Unknown,
        }
        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant),)* Self::Unknown => "Unknown" }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// `service_status` / gov `status`.
    ServiceStatus { Opening, Open, WaitingForRecoveryShares, Recovering, Closed }
);
string_enum!(
    /// A node's status in the service's node table.
    NodeStatus { Pending, Trusted, Retired }
);
string_enum!(
    /// Commit status of a transaction; the wire value `Unknown` (not known to this node yet)
    /// maps to `TxStatus::Unknown`.
    TxStatus {
        /// Replicated but not yet committed.
        Pending,
        /// Durable.
        Committed,
        /// Lost in an election: it will never commit.
        Invalid
    }
);
string_enum!(
    /// State of a governance proposal.
    ProposalState { Open, Accepted, Withdrawn, Rejected, Failed, Dropped }
);
string_enum!(
    /// Member status: only `Active` members may propose and vote.
    MemberStatus { Accepted, Active }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txid_parses_and_orders() {
        let a: TxId = "2.10".parse().unwrap();
        let b: TxId = "3.1".parse().unwrap();
        assert!(a < b);
        assert_eq!(a.to_string(), "2.10");
        assert!("2".parse::<TxId>().is_err());
        assert!("a.b".parse::<TxId>().is_err());
    }

    #[test]
    fn unknown_enum_values_do_not_fail() {
        let s: NodeStatus = serde_json::from_str("\"Learner\"").unwrap();
        assert_eq!(s, NodeStatus::Unknown);
        let t: TxStatus = serde_json::from_str("\"Unknown\"").unwrap();
        assert_eq!(t, TxStatus::Unknown);
        let t: TxStatus = serde_json::from_str("\"Committed\"").unwrap();
        assert_eq!(t, TxStatus::Committed);
    }

    #[test]
    fn short_ids_never_panic() {
        assert_eq!(short_id(&"ab".repeat(32)), "abababab");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_id(""), "");
        assert_eq!(short_id("12345678"), "12345678");
        // The 8th byte falls inside "é": the whole id rather than a panic.
        assert_eq!(short_id("abcdefgé9"), "abcdefgé9");
        assert_eq!(short_id("ééééé"), "éééé");
        assert_eq!(short_id("éééé12"), "éééé");
    }

    #[test]
    fn hex_ids() {
        assert!(is_hex_id(&"a".repeat(64)));
        assert!(!is_hex_id(&"A".repeat(64)));
        assert!(!is_hex_id("abc"));
    }
}
