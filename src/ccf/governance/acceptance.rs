//! Seeing a proposal through: votes from the configured members, a bounded wait for the
//! others, then the accepting transaction's commit.

use std::sync::Arc;
use std::time::Duration;

use super::{BALLOT_YES, GovError, GovEvent, Governance, Passed, Submitted, action_names};
use crate::ccf::types::{ProposalBody, ProposalId, ProposalState, TxId, TxStatus, short_id};
use crate::signing::Member;
use crate::wait::{Cancel, Poller, Probe, wait_until};

impl Governance {
    /// Propose `body`, vote yes with every configured Active member until it is accepted,
    /// wait (bounded) for other members if needed, then wait for the accepting transaction
    /// to commit.
    pub async fn pass(&self, body: &ProposalBody, cancel: &Cancel) -> Result<Passed, GovError> {
        let (signers, active) = self.active_signers().await?;
        let Some(first) = signers.first() else {
            let configured = self
                .members
                .iter()
                .map(|m| short_id(m.id()))
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
            state = self.wait_for_other_members(&id, cancel).await?;
            // Another member's ballot accepted it; its transaction id is not ours to know.
            accept_tx = None;
        }
        self.outcome(id, state, accept_tx, cancel).await
    }

    /// Wait (bounded by the accept timeout) until the proposal leaves `Open`.
    async fn wait_for_other_members(
        &self,
        id: &ProposalId,
        cancel: &Cancel,
    ) -> Result<Option<ProposalState>, GovError> {
        let what = format!("other members to vote on proposal {}", short_id(id));
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
                        Ok(Some(p)) if p.proposal_state == ProposalState::Open => {
                            Ok(Probe::NotYet(format!(
                                "Open with {}",
                                crate::english::count(p.ballot_count as usize, "ballot")
                            )))
                        }
                        Ok(p) => Ok(Probe::Ready(p.map(|p| p.proposal_state))),
                        Err(e) if e.another_may_answer() => Ok(Probe::NotYet(e.to_string())),
                        Err(e) => Err(e),
                    }
                }
            },
        )
        .await?;
        Ok(final_state)
    }

    /// What the proposal's final `state` means: accepted (once `accept_tx` is committed),
    /// purged before it could be read, or another end, with the service's reason.
    async fn outcome(
        &self,
        id: ProposalId,
        state: Option<ProposalState>,
        accept_tx: Option<TxId>,
        cancel: &Cancel,
    ) -> Result<Passed, GovError> {
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
                    Err(e) if e.another_may_answer() => Ok(Probe::NotYet(e.to_string())),
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
