//! `noderoll vote`: the proposal shown before voting, and the result.

use serde::Serialize;
use serde_json::Value;

use crate::ccf::types::{Action, Proposal};

/// The proposal and its actions (each with its arguments, long ones shortened), for people.
pub(crate) fn render_proposal(proposal: &Proposal, actions: &[Action]) -> String {
    let mut t = super::table();
    t.set_header(vec!["action", "arguments"]);
    for a in actions {
        t.add_row(vec![a.name.clone(), key_args(&a.args)]);
    }
    format!(
        "Proposal {} by {} is {} with {}; its actions:\n{}\n",
        proposal.proposal_id,
        proposal.proposer_id,
        proposal.proposal_state,
        super::count(proposal.ballot_count as usize, "ballot"),
        super::render(t)
    )
}

/// The longest argument value shown whole (a 64-character id or digest is).
const ARG_MAX_CHARS: usize = 80;

/// An action's arguments as `name=value` lines; a value longer than [`ARG_MAX_CHARS`] (a
/// security policy, say) is shown by its start and length.
fn key_args(args: &Value) -> String {
    let shown = |v: &Value| {
        let text = match v {
            Value::String(s) if s.is_empty() => "\"\"".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let chars = text.chars().count();
        if chars <= ARG_MAX_CHARS {
            text
        } else {
            let start: String = text.chars().take(32).collect();
            format!("{start}… ({chars} characters)")
        }
    };
    match args {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", shown(v)))
            .collect::<Vec<_>>()
            .join("\n"),
        other => shown(other),
    }
}

/// The ballots submitted: one compact JSON document for machines (`type`: `voted`).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "voted")]
pub(crate) struct Voted<'a> {
    /// The proposal.
    pub proposal_id: &'a str,
    /// Ballots this run submitted.
    pub ballots_submitted: usize,
    /// The proposal's state after them.
    pub state: String,
    /// The proposal's actions, as the service lists them (arguments whole).
    pub actions: &'a [Action],
}

impl super::Document for Voted<'_> {
    fn human(&self) -> String {
        format!(
            "Voted yes as {}; the proposal is now {}.\n",
            super::count(self.ballots_submitted, "member"),
            self.state
        )
    }
    fn json(&self) -> String {
        super::printer::json_line(&super::schema::stamped(super::schema::Doc::Vote, self))
    }
}

/// A proposal `vote --follow` does not vote on: a notice, once per proposal (`type`:
/// `proposal_skipped`).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "proposal_skipped")]
pub(crate) struct Skipped<'a> {
    /// The proposal.
    pub proposal_id: &'a str,
    /// Why: the actions that are not an upgrade's.
    pub reason: String,
}

impl<'a> Skipped<'a> {
    /// The notice for `proposal_id`, naming its actions that no upgrade proposes.
    pub(crate) fn new(proposal_id: &'a str, actions: &[Action]) -> Self {
        let others: Vec<&str> = actions
            .iter()
            .map(|a| a.name.as_str())
            .filter(|n| !crate::ccf::actions::UPGRADE_ACTIONS.contains(n))
            .collect();
        let reason = if others.is_empty() {
            "it has no action".to_string()
        } else {
            format!(
                "it carries {}, which no upgrade proposes",
                others.join(", ")
            )
        };
        Skipped {
            proposal_id,
            reason,
        }
    }
}

impl super::Document for Skipped<'_> {
    fn human(&self) -> String {
        format!(
            "not voting on proposal {}: {}\n",
            self.proposal_id, self.reason
        )
    }
    fn json(&self) -> String {
        super::printer::json_line(&super::schema::stamped(super::schema::Doc::Vote, self))
    }
}

/// How `vote --follow` ended: the last document it prints (`type`: `follow_ended`).
#[derive(Debug, Default, Serialize)]
#[serde(tag = "type", rename = "follow_ended")]
pub(crate) struct Followed {
    /// `upgrade_over`, `interrupted`, or `timed_out`.
    pub outcome: &'static str,
    /// The proposals voted on, in order.
    pub voted: Vec<String>,
    /// The open proposals not voted on (not an upgrade's).
    pub skipped: Vec<String>,
    /// An upgrade was seen in progress (people are told when none was).
    #[serde(skip)]
    pub upgrade_seen: bool,
}

impl super::Document for Followed {
    fn human(&self) -> String {
        let how = match self.outcome {
            "upgrade_over" => "Followed the upgrade (the upgrade is over)",
            "interrupted" => "Followed the upgrade (interrupted)",
            _ if self.upgrade_seen => "Followed the upgrade (timed out)",
            _ => "No upgrade was seen (timed out)",
        };
        format!(
            "{how}: voted on {}, skipped {}.\n",
            super::count(self.voted.len(), "proposal"),
            self.skipped.len()
        )
    }
    fn json(&self) -> String {
        super::printer::json_line(&super::schema::stamped(super::schema::Doc::Vote, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_shown_by_name_and_long_ones_shortened() {
        let id = "a".repeat(64);
        let policy = "p".repeat(500);
        let text = key_args(&serde_json::json!({
            "node_id": id, "metadata": "", "security_policy": policy, "n": 3
        }));
        assert!(text.contains(&format!("node_id={id}")), "{text}");
        assert!(text.contains("metadata=\"\""), "{text}");
        assert!(text.contains("n=3"), "{text}");
        assert!(text.contains("(500 characters)"), "{text}");
        assert!(!text.contains(&policy), "{text}");
    }
}
