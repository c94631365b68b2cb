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

use std::sync::Arc;
use std::time::Duration;

use super::client::{CcfClient, NodeAddr};
use super::error::{ClientError, Retry};
use super::types::{
    MemberStatus, ProposalBody, ProposalId, ProposalState, TxId, TxStatus, is_hex_id,
};
use crate::signing::cose::{self, GovHeaders, MsgType};
use crate::signing::{IdentityError, Member};
use crate::wait::{Cancel, Poller, Probe, WaitError, wait_until};

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

/// A governance failure.
#[derive(Debug, thiserror::Error)]
pub enum GovError {
    /// A request failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] IdentityError),
    /// None of the configured members is an Active member of the service.
    #[error(
        "none of the configured members is an Active member of this service (configured: {configured}); \
             activate them (state digest ack) or configure an Active member"
    )]
    NoActiveMember {
        /// Configured member ids, short.
        configured: String,
    },
    /// The constitution rejected the proposal.
    #[error("the service refused the proposal: {message}")]
    FailedToValidate {
        /// CCF's message.
        message: String,
    },
    /// `500 InternalError` on create/ballot: applying the proposal threw.
    #[error("proposal {} failed to apply: {message}", .proposal_id.as_deref().unwrap_or("(new)"))]
    FailedToApply {
        /// Proposal, if it existed.
        proposal_id: Option<ProposalId>,
        /// CCF's message.
        message: String,
    },
    /// The proposal ended in a state other than Accepted.
    #[error("proposal {proposal_id} ended {state}{}", .reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    NotAccepted {
        /// Proposal.
        proposal_id: ProposalId,
        /// Final state.
        state: ProposalState,
        /// Failure reason, if any.
        reason: Option<String>,
    },
    /// The proposal left `Open` and was purged before its final state could be read.
    #[error(
        "proposal {proposal_id} is no longer open and its outcome was purged (CCF keeps only the latest completed proposal); check the service state to see whether it applied"
    )]
    OutcomeUnknown {
        /// Proposal.
        proposal_id: ProposalId,
    },
    /// The transaction was lost in an election and will never commit.
    #[error(
        "transaction {txid} was rolled back by an election (status Invalid); re-read the service state and retry"
    )]
    TxInvalid {
        /// The transaction.
        txid: TxId,
    },
    /// A wait ended without success.
    #[error(transparent)]
    Wait(#[from] WaitError<ClientError>),
}

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

/// How many seconds a proposal is re-stamped forward past earlier, finished proposals of
/// the same actions signed in the same second (deterministic signing replays them).
const MAX_REPLAY_RESTAMPS: u32 = 10;

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

    /// Create a proposal signed by `member`.
    pub async fn propose(
        &self,
        member: &Member,
        body: &ProposalBody,
    ) -> Result<Submitted, GovError> {
        let payload = serde_json::to_vec(body).expect("actions serialise");
        let mut created_at = self.now();
        let mut restamped = false;
        // Runs that propose the same actions in quick succession (a rollback's undoing, then
        // a re-run) can each meet an earlier one in the same second: step on, boundedly.
        let mut replayed_finished = 0;
        loop {
            let headers = GovHeaders {
                msg_type: MsgType::Proposal,
                created_at,
                proposal_id: None,
            };
            let cose = cose::sign(member, &headers, &payload).await?;
            let result = self.on_any_node(|n| {
                let cose = &cose;
                async move { self.client.create_proposal(&n, cose).await }
            });
            match result.await {
                Ok((p, txid)) => {
                    self.emit(GovEvent::Proposed {
                        proposal_id: p.proposal_id.clone(),
                        recovered: false,
                        actions: action_names(body),
                    });
                    return Ok(Submitted {
                        proposal_id: p.proposal_id,
                        state: Some(p.proposal_state),
                        txid,
                    });
                }
                Err(e) if e.is(400, "ProposalReplay") => {
                    // Our own earlier attempt (whose response was lost) already created it.
                    let id = e
                        .message()
                        .and_then(last_hex_id)
                        .ok_or_else(|| GovError::Client(e.clone()))?;
                    let state = self
                        .on_any_node(|n| {
                            let id = id.clone();
                            async move { self.client.proposal(&n, &id).await }
                        })
                        .await?
                        .map(|p| p.proposal_state);
                    // Signing is deterministic: the same actions signed in the same second
                    // replay an earlier proposal. Our own lost create is still Open (it needs
                    // our ballot); one that is finished or already purged is an earlier
                    // intent (another run, or a rollback's undoing since): this is a new
                    // one, so sign again a second later. The actions noderoll proposes are
                    // idempotent should that earlier one have been ours after all.
                    if !matches!(state, Some(ProposalState::Open))
                        && replayed_finished < MAX_REPLAY_RESTAMPS
                    {
                        replayed_finished += 1;
                        created_at += 1;
                        continue;
                    }
                    self.emit(GovEvent::Proposed {
                        proposal_id: id.clone(),
                        recovered: true,
                        actions: action_names(body),
                    });
                    return Ok(Submitted {
                        proposal_id: id,
                        state,
                        txid: None,
                    });
                }
                Err(e) if e.is(400, "ProposalCreatedTooLongAgo") && !restamped => {
                    let min = e
                        .message()
                        .and_then(last_number)
                        .ok_or_else(|| GovError::Client(e.clone()))?;
                    created_at = created_at.max(min + 1);
                    restamped = true;
                    self.emit(GovEvent::Restamped { created_at });
                }
                Err(e) if e.is(400, "ProposalFailedToValidate") => {
                    return Err(GovError::FailedToValidate {
                        message: e.message().unwrap_or_default().into(),
                    });
                }
                Err(e) if e.is(500, "InternalError") => {
                    return Err(GovError::FailedToApply {
                        proposal_id: None,
                        message: e.message().unwrap_or_default().into(),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Vote `ballot` (JS) on a proposal as `member`. Returns the state after the ballot and
    /// the ballot's transaction.
    pub async fn vote(
        &self,
        member: &Member,
        proposal_id: &str,
        ballot: &str,
    ) -> Result<(Option<ProposalState>, Option<TxId>), GovError> {
        let payload = serde_json::to_vec(&serde_json::json!({ "ballot": ballot }))
            .expect("ballot serialises");
        let headers = GovHeaders {
            msg_type: MsgType::Ballot,
            created_at: self.now(),
            proposal_id: Some(proposal_id.into()),
        };
        let cose = cose::sign(member, &headers, &payload).await?;
        let result = self
            .on_any_node(|n| {
                let cose = &cose;
                async move {
                    self.client
                        .submit_ballot(&n, proposal_id, member.id(), cose)
                        .await
                }
            })
            .await;
        match result {
            Ok((p, txid)) => {
                self.emit(GovEvent::Voted {
                    proposal_id: proposal_id.into(),
                    member_id: member.id().into(),
                    state: p.proposal_state,
                });
                Ok((Some(p.proposal_state), txid))
            }
            // Not open any more, gone, or this member's different ballot is already there
            // (`400 VoteAlreadyExists`, CCF `proposals.h`, `submit_ballot`): what counts is
            // the proposal's state, so read it and carry on.
            Err(e)
                if e.is(400, "ProposalNotOpen")
                    || e.is(404, "ProposalNotFound")
                    || e.is(400, "VoteAlreadyExists") =>
            {
                let p = self
                    .on_any_node(|n| async move { self.client.proposal(&n, proposal_id).await })
                    .await?;
                Ok((p.map(|p| p.proposal_state), None))
            }
            Err(e) if e.is(500, "InternalError") => Err(GovError::FailedToApply {
                proposal_id: Some(proposal_id.into()),
                message: e.message().unwrap_or_default().into(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Withdraw a proposal `member` made. `None` when the service no longer knows it.
    pub async fn withdraw(
        &self,
        member: &Member,
        proposal_id: &str,
    ) -> Result<Option<ProposalState>, GovError> {
        let headers = GovHeaders {
            msg_type: MsgType::Withdrawal,
            created_at: self.now(),
            proposal_id: Some(proposal_id.into()),
        };
        let cose = cose::sign(member, &headers, b"").await?;
        let result = self
            .on_any_node(|n| {
                let cose = &cose;
                async move { self.client.withdraw_proposal(&n, proposal_id, cose).await }
            })
            .await;
        match result {
            Ok(p) => Ok(p.map(|p| p.proposal_state)),
            Err(e) if e.is(400, "ProposalNotOpen") => {
                let p = self
                    .on_any_node(|n| async move { self.client.proposal(&n, proposal_id).await })
                    .await?;
                Ok(p.map(|p| p.proposal_state))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Propose `body`, vote yes with every configured Active member until it is accepted,
    /// wait (bounded) for other members if needed, then wait for the accepting transaction
    /// to commit.
    pub async fn pass(&self, body: &ProposalBody, cancel: &Cancel) -> Result<Passed, GovError> {
        let (signers, active) = self.active_signers().await?;
        let Some(first) = signers.first() else {
            let configured = self
                .members
                .iter()
                .map(|m| short(m.id()))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(GovError::NoActiveMember { configured });
        };
        // A proposal with these very actions, opened by one of our members (a run that died
        // before voting): see that one through instead of proposing again.
        let submitted = match self.find_open(body).await? {
            Some(found) => {
                self.emit(GovEvent::Proposed {
                    proposal_id: found.proposal_id.clone(),
                    recovered: true,
                    actions: action_names(body),
                });
                found
            }
            None => self.propose(first, body).await?,
        };
        self.drive_to_acceptance(&submitted, &signers, active, cancel)
            .await
    }

    /// An open proposal by a configured member whose actions are exactly `body`'s.
    pub async fn find_open(&self, body: &ProposalBody) -> Result<Option<Submitted>, GovError> {
        Ok(self.find_open_where(|b| b == body).await?.map(|(s, _)| s))
    }

    /// An open proposal by a configured member whose actions satisfy `wanted`, with them.
    pub async fn find_open_where(
        &self,
        wanted: impl Fn(&ProposalBody) -> bool,
    ) -> Result<Option<(Submitted, ProposalBody)>, GovError> {
        let ours: Vec<&str> = self.members.iter().map(|m| m.id()).collect();
        let proposals = self
            .on_any_node(|n| async move { self.client.proposals(&n).await })
            .await?;
        for p in proposals.into_iter().filter(|p| {
            p.proposal_state == ProposalState::Open && ours.contains(&p.proposer_id.as_str())
        }) {
            let actions = self
                .on_any_node(|n| {
                    let id = p.proposal_id.clone();
                    async move { self.client.proposal_actions(&n, &id).await }
                })
                .await?;
            if let Some(actions) = actions.filter(&wanted) {
                let submitted = Submitted {
                    proposal_id: p.proposal_id,
                    state: Some(ProposalState::Open),
                    txid: None,
                };
                return Ok(Some((submitted, actions)));
            }
        }
        Ok(None)
    }

    /// Vote with `signers` on an existing proposal and see it through to a committed
    /// acceptance (also used to resume a proposal found open).
    pub async fn drive_to_acceptance(
        &self,
        submitted: &Submitted,
        signers: &[Arc<Member>],
        active_members: usize,
        cancel: &Cancel,
    ) -> Result<Passed, GovError> {
        let id = submitted.proposal_id.clone();
        let mut state = submitted.state;
        let mut accept_tx = submitted.txid;
        let mut voted = 0;
        for s in signers {
            if state != Some(ProposalState::Open) {
                break;
            }
            let (st, tx) = self.vote(s, &id, BALLOT_YES).await?;
            voted += 1;
            state = st;
            accept_tx = tx.or(accept_tx);
        }
        if state == Some(ProposalState::Open) {
            self.emit(GovEvent::WaitingForMembers {
                proposal_id: id.clone(),
                needed: active_members / 2 + 1,
                voted,
            });
            let what = format!("other members to vote on proposal {}", short(&id));
            let final_state = wait_until(
                what,
                self.timeouts.accept,
                cancel,
                Poller::new(Duration::from_millis(200), Duration::from_secs(5)),
                || {
                    let id = id.clone();
                    async move {
                        match self
                            .on_any_node(|n| {
                                let id = id.clone();
                                async move { self.client.proposal(&n, &id).await }
                            })
                            .await
                        {
                            Ok(Some(p)) if p.proposal_state == ProposalState::Open => Ok(
                                Probe::NotYet(format!("Open with {} ballot(s)", p.ballot_count)),
                            ),
                            Ok(p) => Ok(Probe::Ready(p.map(|p| p.proposal_state))),
                            Err(e) if matches!(e.retry(), Retry::Transient(_)) => {
                                Ok(Probe::NotYet(e.to_string()))
                            }
                            Err(e) => Err(e),
                        }
                    }
                },
            )
            .await?;
            state = final_state;
            // Another member's ballot accepted it; its transaction id is not ours to know.
            accept_tx = None;
        }
        match state {
            Some(ProposalState::Accepted) => {
                if let Some(tx) = accept_tx {
                    self.wait_committed(tx, cancel).await?;
                }
                Ok(Passed {
                    proposal_id: id,
                    txid: accept_tx,
                })
            }
            None => Err(GovError::OutcomeUnknown { proposal_id: id }),
            Some(st) => {
                let reason = self
                    .on_any_node(|n| {
                        let id = id.clone();
                        async move { self.client.proposal(&n, &id).await }
                    })
                    .await
                    .ok()
                    .flatten()
                    .and_then(|p| p.failure.map(|f| f.reason));
                Err(GovError::NotAccepted {
                    proposal_id: id,
                    state: st,
                    reason,
                })
            }
        }
    }

    /// Wait until `txid` is committed (`Invalid` is an error: it will never commit).
    pub async fn wait_committed(&self, txid: TxId, cancel: &Cancel) -> Result<(), GovError> {
        let what = format!("transaction {txid} to commit");
        let status = wait_until(
            what,
            self.timeouts.commit,
            cancel,
            Poller::service_default(),
            || async move {
                match self
                    .on_any_node(|n| async move { self.client.tx_status(&n, txid).await })
                    .await
                {
                    Ok(s @ (TxStatus::Committed | TxStatus::Invalid)) => Ok(Probe::Ready(s)),
                    Ok(s) => Ok(Probe::NotYet(format!("status {s}"))),
                    Err(e) if matches!(e.retry(), Retry::Transient(_)) => {
                        Ok(Probe::NotYet(e.to_string()))
                    }
                    Err(e) => Err(e),
                }
            },
        )
        .await?;
        if status == TxStatus::Invalid {
            return Err(GovError::TxInvalid { txid });
        }
        Ok(())
    }
}

/// First 8 characters of an id, for messages (kept for callers outside `ccf`; the helper is
/// [`short_id`]).
pub use super::types::short_id as short;

fn last_hex_id(msg: &str) -> Option<String> {
    msg.split(|c: char| !c.is_ascii_alphanumeric())
        .rev()
        .find(|t| is_hex_id(t))
        .map(str::to_string)
}

fn last_number(msg: &str) -> Option<u64> {
    msg.split(|c: char| !c.is_ascii_digit())
        .rev()
        .find(|t| !t.is_empty())
        .and_then(|t| t.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ccf_messages() {
        let id = "a".repeat(64);
        assert_eq!(
            last_hex_id(&format!(
                "Proposal submission replay, already exists as proposal {id}"
            )),
            Some(id)
        );
        assert_eq!(last_hex_id("nothing here"), None);
        assert_eq!(
            last_number(
                "Proposal created too long ago, created_at must be greater than 0001700000123"
            ),
            Some(1_700_000_123)
        );
    }
}
