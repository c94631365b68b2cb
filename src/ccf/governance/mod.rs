//! Governance operations on top of the client: propose, vote, withdraw, wait until accepted
//! and committed, following CCF's rules and quirks:
//!
//! * a lost create response is recovered from `ProposalReplay` (re-sending the same signed
//!   bytes names the original proposal id), never by proposing twice;
//! * `ProposalCreatedTooLongAgo` (a signer clock behind the service's window) is re-stamped
//!   once with the minimum the service names;
//! * `500 InternalError` on create or ballot means the proposal failed to apply;
//! * `Dropped` (another member's "add" action) is reported as such;
//! * retention: once a proposal leaves `Open`, a later GET may 404; the state in our own
//!   create/ballot responses is the source of truth.
//!
//! One file per concern: `proposals` (create, find, withdraw), `ballots` (vote) and
//! `acceptance` (see a proposal through to a committed acceptance); failures in `error`.

mod acceptance;
mod ballots;
mod error;
mod proposals;

use std::sync::Arc;
use std::time::Duration;

use super::client::{CcfClient, NodeAddr};
use super::error::ClientError;
use super::types::{MemberStatus, ProposalBody, ProposalId, ProposalState, TxId};
use crate::signing::Member;

pub use error::GovError;

/// A ballot that always votes yes.
pub const BALLOT_YES: &str = "export function vote (proposal, proposerId) { return true }";

/// Something governance did, for progress reporting (no key material, ever).
#[derive(Debug, Clone, PartialEq)]
pub enum GovEvent {
    /// A proposal was created (or found again after a lost response).
    Proposed {
        /// Its id.
        proposal_id: ProposalId,
        /// Whether it was recovered via `ProposalReplay`.
        recovered: bool,
        /// Its action names, in order.
        actions: Vec<String>,
    },
    /// `created_at` was moved forward after `ProposalCreatedTooLongAgo`.
    Restamped {
        /// The new `created_at`.
        created_at: u64,
    },
    /// A configured member voted.
    Voted {
        /// Proposal.
        proposal_id: ProposalId,
        /// Member id.
        member_id: String,
        /// State after the ballot.
        state: ProposalState,
    },
    /// Not enough configured members to accept; waiting for others.
    WaitingForMembers {
        /// Proposal.
        proposal_id: ProposalId,
        /// Yes votes needed (strict majority of Active members).
        needed: usize,
        /// Configured members that voted.
        voted: usize,
    },
}

/// Receives [`GovEvent`]s.
pub type GovObserver = Arc<dyn Fn(&GovEvent) + Send + Sync>;

/// Deadlines for governance waits.
#[derive(Debug, Clone)]
pub struct GovTimeouts {
    /// Waiting for other members' votes.
    pub accept: Duration,
    /// Waiting for a transaction to commit.
    pub commit: Duration,
}

impl Default for GovTimeouts {
    fn default() -> Self {
        GovTimeouts {
            accept: Duration::from_secs(600),
            commit: Duration::from_secs(120),
        }
    }
}

/// A created proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    /// Its id.
    pub proposal_id: ProposalId,
    /// State as of the response (None: recovered and already purged).
    pub state: Option<ProposalState>,
    /// Transaction of the creation, when the response carried it.
    pub txid: Option<TxId>,
}

/// An accepted, committed proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Passed {
    /// Its id.
    pub proposal_id: ProposalId,
    /// The transaction that accepted (and applied) it, once committed.
    pub txid: Option<TxId>,
}

/// A proposal's action names, in order.
fn action_names(body: &ProposalBody) -> Vec<String> {
    body.actions.iter().map(|a| a.name.clone()).collect()
}

/// Governance for one service, signing as the configured members.
#[derive(Clone)]
pub struct Governance {
    client: CcfClient,
    nodes: Vec<NodeAddr>,
    members: Vec<Arc<Member>>,
    clock_offset_secs: i64,
    timeouts: GovTimeouts,
    observer: Option<GovObserver>,
}

impl Governance {
    /// `nodes` are tried in order for every request (any node accepts governance writes).
    pub fn new(client: CcfClient, nodes: Vec<NodeAddr>, members: Vec<Arc<Member>>) -> Self {
        assert!(
            !nodes.is_empty(),
            "governance needs at least one node address"
        );
        Governance {
            client,
            nodes,
            members,
            clock_offset_secs: 0,
            timeouts: GovTimeouts::default(),
            observer: None,
        }
    }

    /// Shift `created_at` stamps (simulates a skewed signer clock in tests).
    pub fn with_clock_offset(mut self, secs: i64) -> Self {
        self.clock_offset_secs = secs;
        self
    }

    /// Set deadlines.
    pub fn with_timeouts(mut self, t: GovTimeouts) -> Self {
        self.timeouts = t;
        self
    }

    /// Receive progress events.
    pub fn with_observer(mut self, o: GovObserver) -> Self {
        self.observer = Some(o);
        self
    }

    /// Send writes to these nodes first from now on (e.g. after an election).
    pub fn set_nodes(&mut self, nodes: Vec<NodeAddr>) {
        if !nodes.is_empty() {
            self.nodes = nodes;
        }
    }

    /// The configured members.
    pub fn members(&self) -> &[Arc<Member>] {
        &self.members
    }

    fn emit(&self, e: GovEvent) {
        if let Some(o) = &self.observer {
            o(&e);
        }
    }

    fn now(&self) -> u64 {
        (jiff::Timestamp::now().as_second() + self.clock_offset_secs).max(0) as u64
    }

    /// Run `f` against each node until one answers; unreachable nodes are skipped.
    async fn on_any_node<T, F, Fut>(&self, mut f: F) -> Result<T, ClientError>
    where
        F: FnMut(NodeAddr) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut last = None;
        for n in &self.nodes {
            match f(n.clone()).await {
                Err(e) if e.is_unreachable() => last = Some(e),
                other => return other,
            }
        }
        Err(last.expect("at least one node"))
    }

    /// Configured members that are Active, and the number of Active members in total.
    pub async fn active_signers(&self) -> Result<(Vec<Arc<Member>>, usize), GovError> {
        let all = self
            .on_any_node(|n| async move { self.client.members(&n).await })
            .await?;
        let active: Vec<&str> = all
            .iter()
            .filter(|m| m.status == MemberStatus::Active)
            .map(|m| m.member_id.as_str())
            .collect();
        let signers: Vec<_> = self
            .members
            .iter()
            .filter(|m| active.contains(&m.id()))
            .cloned()
            .collect();
        Ok((signers, active.len()))
    }
}
