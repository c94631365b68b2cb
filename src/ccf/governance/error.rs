//! How governance fails.

use crate::ccf::error::ClientError;
use crate::ccf::types::{ProposalId, ProposalState, TxId};
use crate::signing::IdentityError;
use crate::wait::WaitError;

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
