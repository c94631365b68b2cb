//! `noderoll vote --follow`: vote yes on each proposal of the upgrade in progress as it
//! appears, until the service shows the upgrade over.
//!
//! A proposal is the upgrade's when every one of its actions is one an upgrade proposes
//! ([`UPGRADE_ACTIONS`]); any other is never voted on. The upgrade is in progress while the
//! service shows one of: an open proposal of the upgrade's, more than one code version
//! registered (from the registration until finalize), a Pending node. It is over once it was
//! seen in progress and then not, for `--settle` without a break. Every wait is bounded by
//! `--timeout` and ends at once on Ctrl-C.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::VoteWiring;
use crate::ccf::NodeAddr;
use crate::ccf::actions::UPGRADE_ACTIONS;
use crate::ccf::types::{Action, JoinPolicy, NodeStatus, Proposal, ProposalState};
use crate::cli::args::VoteArgs;
use crate::errors::AppError;
use crate::exit_codes;
use crate::output::{Printer, vote};
use crate::plan::spec::parse_duration;
use crate::wait::{Cancel, Poller};

/// `--settle` and `--timeout`.
pub(super) struct Settings {
    settle: Duration,
    timeout: Duration,
    timeout_text: String,
}

impl Settings {
    pub(super) fn parse(args: &VoteArgs) -> Result<Self, AppError> {
        let parse = |flag: &str, given: &Option<String>, default: &str| {
            let text = given.clone().unwrap_or_else(|| default.into());
            parse_duration(&text)
                .map(|d| (d, text))
                .map_err(|e| AppError::Usage(format!("--{flag}: {e}")))
        };
        let (settle, _) = parse("settle", &args.settle, "30s")?;
        let (timeout, timeout_text) = parse("timeout", &args.timeout, "6h")?;
        Ok(Settings {
            settle,
            timeout,
            timeout_text,
        })
    }
}

/// What one look at the service found.
struct Look {
    /// Open proposals not handled yet, with their actions.
    new: Vec<(Proposal, Vec<Action>)>,
    /// Whether the service shows an upgrade in progress.
    in_progress: bool,
}

/// Whether every action is one an upgrade proposes (and there is one).
fn is_upgrade(actions: &[Action]) -> bool {
    !actions.is_empty()
        && actions
            .iter()
            .all(|a| UPGRADE_ACTIONS.contains(&a.name.as_str()))
}

/// More than one code version registered: an upgrade between registration and finalize.
fn two_versions(policy: &JoinPolicy) -> bool {
    let virtual_ = policy.virtual_.as_ref().map_or(0, |v| v.host_data.len());
    let snp = policy.snp.as_ref().map_or(0, |s| s.host_data.len());
    virtual_ > 1 || snp > 1
}

/// Look at the service from `node`; `handled` says which open proposals were seen before
/// and whether they are the upgrade's.
async fn look(
    w: &VoteWiring,
    node: &NodeAddr,
    handled: &BTreeMap<String, bool>,
) -> Result<Look, AppError> {
    let mut new = Vec::new();
    let mut in_progress = false;
    for p in w.client.proposals(node).await? {
        if p.proposal_state != ProposalState::Open {
            continue;
        }
        match handled.get(&p.proposal_id) {
            Some(upgrade) => in_progress |= *upgrade,
            None => {
                let actions = w
                    .client
                    .proposal_actions(node, &p.proposal_id)
                    .await?
                    .map(|b| b.actions)
                    .unwrap_or_default();
                in_progress |= is_upgrade(&actions);
                new.push((p, actions));
            }
        }
    }
    in_progress |= two_versions(&w.client.join_policy(node).await?);
    in_progress |= w
        .client
        .nodes(node, &Default::default())
        .await?
        .iter()
        .any(|n| n.status == NodeStatus::Pending);
    Ok(Look { new, in_progress })
}

/// Vote on what is new and the upgrade's; report, once, what is not.
async fn handle(
    w: &VoteWiring,
    new: Vec<(Proposal, Vec<Action>)>,
    handled: &mut BTreeMap<String, bool>,
    followed: &mut vote::Followed,
    printer: Printer,
    cancel: &Cancel,
) -> Result<(), AppError> {
    for (p, actions) in new {
        let upgrade = is_upgrade(&actions);
        handled.insert(p.proposal_id.clone(), upgrade);
        if !upgrade {
            printer.notice(&vote::Skipped::new(&p.proposal_id, &actions));
            followed.skipped.push(p.proposal_id);
            continue;
        }
        printer.human(&vote::render_proposal(&p, &actions))?;
        let (voted, state) = super::vote_yes(w, &p.proposal_id, cancel).await?;
        printer.print(&vote::Voted {
            proposal_id: &p.proposal_id,
            ballots_submitted: voted,
            state: super::state_text(state),
            actions: &actions,
        })?;
        followed.voted.push(p.proposal_id);
    }
    Ok(())
}

/// Follow the upgrade until it is over (exit 0), `--timeout` passes (exit 3) or Ctrl-C (4).
pub(super) async fn run(
    w: &VoteWiring,
    mut node: NodeAddr,
    settings: &Settings,
    printer: Printer,
    cancel: &Cancel,
) -> Result<u8, AppError> {
    let deadline = Instant::now() + settings.timeout;
    let mut handled = BTreeMap::new();
    let mut followed = vote::Followed::default();
    let (mut seen, mut quiet_since) = (false, None::<Instant>);
    let mut poller = Poller::new(Duration::from_millis(100), Duration::from_secs(2));
    loop {
        match look(w, &node, &handled).await {
            Ok(l) => {
                if !l.new.is_empty() {
                    poller.reset();
                }
                handle(w, l.new, &mut handled, &mut followed, printer, cancel).await?;
                if l.in_progress {
                    (seen, quiet_since) = (true, None);
                } else if seen {
                    let since = *quiet_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= settings.settle {
                        followed.outcome = "upgrade_over";
                        printer.print(&followed)?;
                        return Ok(exit_codes::SUCCESS);
                    }
                }
            }
            Err(e) => {
                tracing::warn!("{}", crate::errors::render(&e));
                if let Ok((n, _)) =
                    crate::observe::find_answering_node(&w.client, &w.probe, &w.plan.service.nodes)
                        .await
                {
                    node = n;
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            followed.outcome = "timed_out";
            followed.upgrade_seen = seen;
            printer.print(&followed)?;
            return Err(AppError::Timeout(if seen {
                format!(
                    "--timeout {} passed before the upgrade was over",
                    settings.timeout_text
                )
            } else {
                format!(
                    "no upgrade was seen within --timeout {}: no upgrade proposal was open, \
                     no second code version registered, no node Pending",
                    settings.timeout_text
                )
            }));
        }
        if !cancel.sleep(poller.next_delay().min(left)).await {
            followed.outcome = "interrupted";
            printer.print(&followed)?;
            return Ok(exit_codes::RESUMABLE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_proposals_made_of_upgrade_actions_are_the_upgrades() {
        let a = |n: &str| Action::new(n, serde_json::json!({}));
        assert!(is_upgrade(&[a("remove_node")]));
        assert!(is_upgrade(&[
            a("add_virtual_measurement"),
            a("add_virtual_host_data")
        ]));
        assert!(!is_upgrade(&[]));
        assert!(!is_upgrade(&[a("set_node_data")]));
        assert!(!is_upgrade(&[a("remove_node"), a("set_constitution")]));
    }
}
