//! `noderoll vote`: the proposal shown before voting, and the result.

use serde::Serialize;

use crate::ccf::types::{Action, Proposal};

/// The proposal and its actions, for people.
pub(crate) fn render_proposal(proposal: &Proposal, actions: &[Action]) -> String {
    let mut t = super::table();
    t.set_header(vec!["action", "arguments"]);
    for a in actions {
        t.add_row(vec![a.name.clone(), a.args.to_string()]);
    }
    format!(
        "Proposal {} by {} is {} with {} ballot(s)\n{t}\n",
        proposal.proposal_id, proposal.proposer_id, proposal.proposal_state, proposal.ballot_count
    )
}

/// The ballots submitted: one compact JSON document for machines.
#[derive(Debug, Serialize)]
pub(crate) struct Voted<'a> {
    /// The proposal.
    pub proposal_id: &'a str,
    /// Ballots this run submitted.
    pub ballots_submitted: usize,
    /// The proposal's state after them.
    pub state: String,
}

impl super::Document for Voted<'_> {
    fn human(&self) -> String {
        format!(
            "Voted yes as {} member(s); the proposal is now {}.\n",
            self.ballots_submitted, self.state
        )
    }
    fn json(&self) -> String {
        super::printer::json_line(&super::schema::stamped(self))
    }
}
