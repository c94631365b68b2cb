//! Creating, finding and withdrawing proposals.

use super::{GovError, GovEvent, Governance, Submitted, action_names};
use crate::ccf::error::ClientError;
use crate::ccf::types::{ProposalBody, ProposalId, ProposalState, is_hex_id};
use crate::signing::Member;
use crate::signing::cose::{self, GovHeaders, MsgType};

/// How many seconds a proposal is re-stamped forward past earlier, finished proposals of
/// the same actions signed in the same second (deterministic signing replays them).
const MAX_REPLAY_RESTAMPS: u32 = 10;

impl Governance {
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
            let e = match result.await {
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
                Err(e) => e,
            };
            if e.is(400, "ProposalReplay") {
                let (id, state) = self.replayed(&e).await?;
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
            if e.is(400, "ProposalCreatedTooLongAgo") && !restamped {
                let min = e
                    .message()
                    .and_then(last_number)
                    .ok_or_else(|| GovError::Client(e.clone()))?;
                created_at = created_at.max(min + 1);
                restamped = true;
                self.emit(GovEvent::Restamped { created_at });
                continue;
            }
            return Err(create_refused(e));
        }
    }

    /// The proposal a `ProposalReplay` answer names (our own earlier attempt, whose response
    /// was lost, already created it), and its state now.
    async fn replayed(
        &self,
        e: &ClientError,
    ) -> Result<(ProposalId, Option<ProposalState>), GovError> {
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
        Ok((id, state))
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
}

/// The failure a refused create is.
fn create_refused(e: ClientError) -> GovError {
    if e.is(400, "ProposalFailedToValidate") {
        return GovError::FailedToValidate {
            message: e.message().unwrap_or_default().into(),
        };
    }
    if e.is(500, "InternalError") {
        return GovError::FailedToApply {
            proposal_id: None,
            message: e.message().unwrap_or_default().into(),
        };
    }
    e.into()
}

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
