//! Voting on proposals.

use super::{GovError, GovEvent, Governance};
use crate::ccf::types::{ProposalState, TxId};
use crate::signing::Member;
use crate::signing::cose::{self, GovHeaders, MsgType};

impl Governance {
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
}
