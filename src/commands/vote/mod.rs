//! `noderoll vote`: show a proposal's actions and vote yes as each configured member.

use std::io::IsTerminal;

use crate::ccf::governance::BALLOT_YES;
use crate::ccf::governance::Governance;
use crate::ccf::types::{Proposal, ProposalState, is_hex_id, short_id};
use crate::ccf::{CcfClient, NodeAddr};
use crate::cli::args::VoteArgs;
use crate::errors::AppError;
use crate::exit_codes;
use crate::output::{Printer, vote};
use crate::settings::PlanFile;
use crate::wait::Cancel;

mod follow;

/// Show, confirm, vote; or, with `--follow`, vote on each proposal of the upgrade.
pub(crate) async fn run(args: &VoteArgs, printer: Printer, cancel: Cancel) -> Result<u8, AppError> {
    let Some(given) = &args.proposal_id else {
        let settings = follow::Settings::parse(args)?;
        let (w, node) = VoteWiring::connect(args, &cancel).await?;
        return follow::run(&w, node, &settings, printer, &cancel).await;
    };
    let given = id_or_prefix(given)?;
    let (w, node) = VoteWiring::connect(args, &cancel).await?;
    let proposal_id = match given {
        Given::Id(id) => id,
        Given::Prefix(prefix) => pick_open(&prefix, &w.client.proposals(&node).await?)?,
    };
    let proposal = w
        .client
        .proposal(&node, &proposal_id)
        .await?
        .ok_or_else(|| {
            AppError::Usage(format!(
                "no proposal {proposal_id} on this service (completed proposals are purged)"
            ))
        })?;
    let actions = w
        .client
        .proposal_actions(&node, &proposal_id)
        .await?
        .map(|b| b.actions)
        .unwrap_or_default();
    printer.human(&vote::render_proposal(&proposal, &actions))?;
    if proposal.proposal_state != ProposalState::Open {
        return Err(AppError::Usage(format!(
            "proposal {proposal_id} is {}, not Open: nothing to vote on",
            proposal.proposal_state
        )));
    }
    if !args.yes {
        confirm()?;
    }
    let (voted, state) = vote_yes(&w, &proposal_id, &cancel).await?;
    printer.print(&vote::Voted {
        proposal_id: &proposal_id,
        ballots_submitted: voted,
        state: state_text(state),
        actions: &actions,
    })?;
    Ok(exit_codes::SUCCESS)
}

/// What the operator named: a whole proposal id, or the start of one.
#[derive(Debug, PartialEq)]
enum Given {
    Id(String),
    Prefix(String),
}

/// The shortest prefix accepted: what progress lines show of an id.
const MIN_PREFIX: usize = 8;

/// A whole id (64 hex characters), or a prefix of at least [`MIN_PREFIX`] of them (any case).
fn id_or_prefix(given: &str) -> Result<Given, AppError> {
    let id = given.trim().to_ascii_lowercase();
    if is_hex_id(&id) {
        return Ok(Given::Id(id));
    }
    if (MIN_PREFIX..64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Given::Prefix(id));
    }
    Err(AppError::Usage(format!(
        "{given:?} is not a proposal id: give the id (64 hex characters) or at least its first \
         {MIN_PREFIX} characters, as the progress lines show it"
    )))
}

/// The one Open proposal whose id starts with `prefix`; none or several is bad input, named.
fn pick_open(prefix: &str, proposals: &[Proposal]) -> Result<String, AppError> {
    let open: Vec<&str> = proposals
        .iter()
        .filter(|p| p.proposal_state == ProposalState::Open)
        .map(|p| p.proposal_id.as_str())
        .collect();
    let found: Vec<&str> = open
        .iter()
        .copied()
        .filter(|id| id.starts_with(prefix))
        .collect();
    match found.as_slice() {
        [id] => Ok((*id).to_string()),
        [] if open.is_empty() => Err(AppError::Usage(format!(
            "no open proposal starts with {prefix}: no proposal is open on this service \
             (completed proposals are purged)"
        ))),
        [] => Err(AppError::Usage(format!(
            "no open proposal starts with {prefix}; the open proposals are {}",
            open.join(", ")
        ))),
        several => Err(AppError::Usage(format!(
            "{prefix} names {} open proposals ({}); give more of the id",
            several.len(),
            several.join(", ")
        ))),
    }
}

/// A proposal's state after the ballots, as shown ("completed (purged)" once it is gone).
fn state_text(state: Option<ProposalState>) -> String {
    state
        .map(|s| s.to_string())
        .unwrap_or_else(|| "completed (purged)".into())
}

/// Ask on the terminal; refused without one.
fn confirm() -> Result<(), AppError> {
    if !std::io::stdin().is_terminal() {
        return Err(crate::next_step::needs_confirmation(
            "pass --yes to vote without a terminal".into(),
            "review the proposal's actions first",
        ));
    }
    let mut line = String::new();
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        b"Vote yes? Only 'yes' is accepted: ",
    );
    std::io::stdin()
        .read_line(&mut line)
        .map_err(AppError::Output)?;
    if line.trim() != "yes" {
        return Err(AppError::Declined);
    }
    Ok(())
}

/// Vote yes as each active configured member while the proposal is Open (waiting for its
/// acceptance to commit): the ballots submitted and the proposal's state after them.
async fn vote_yes(
    w: &VoteWiring,
    proposal_id: &str,
    cancel: &Cancel,
) -> Result<(usize, Option<ProposalState>), AppError> {
    let (signers, _active) = w.gov.active_signers().await?;
    if signers.is_empty() {
        return Err(crate::ccf::governance::GovError::NoActiveMember {
            configured: w
                .gov
                .members()
                .iter()
                .map(|m| short_id(m.id()).to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into());
    }
    let mut state = Some(ProposalState::Open);
    let mut voted = 0;
    for m in &signers {
        if state != Some(ProposalState::Open) {
            break;
        }
        let (st, tx) = w.gov.vote(m, proposal_id, BALLOT_YES).await?;
        voted += 1;
        state = st;
        if st == Some(ProposalState::Accepted)
            && let Some(tx) = tx
        {
            w.gov.wait_committed(tx, cancel).await?;
        }
    }
    Ok((voted, state))
}

/// What a vote needs: the plan file's `[service]` and `[[members]]` (its upgrade tables, if
/// any, are not read: a member who only votes has none).
struct VoteWiring {
    plan: PlanFile,
    client: CcfClient,
    probe: CcfClient,
    gov: Governance,
}

impl VoteWiring {
    /// Load, then find the node to talk to, picked as every command picks it (falling back
    /// on where this machine last saw the service's nodes); governance asks it first.
    async fn connect(args: &VoteArgs, cancel: &Cancel) -> Result<(Self, NodeAddr), AppError> {
        let mut w = VoteWiring::load(args, cancel)?;
        let (node, _) =
            crate::observe::find_answering_node(&w.client, &w.probe, &w.plan.service.nodes).await?;
        w.gov.set_nodes(w.node_order(&node));
        Ok((w, node))
    }

    /// `first`, then the plan's other addresses.
    fn node_order(&self, first: &NodeAddr) -> Vec<NodeAddr> {
        let mut order = vec![first.clone()];
        order.extend(
            self.plan
                .service
                .nodes
                .iter()
                .filter(|a| *a != first)
                .cloned(),
        );
        order
    }

    fn load(args: &VoteArgs, cancel: &Cancel) -> Result<Self, AppError> {
        if args.plan.as_os_str() == crate::output::progress::MEMBER_PLAN && !args.plan.exists() {
            return Err(AppError::Usage(format!(
                "--plan {}: replace {} with the voting member's own plan file ([service] and \
                 its [[members]] entry)",
                crate::output::progress::MEMBER_PLAN,
                crate::output::progress::MEMBER_PLAN
            )));
        }
        let plan = PlanFile::load(&args.plan)?;
        if plan.members.is_empty() {
            return Err(AppError::Usage(format!(
                "{}: no [[members]] to vote as; give the member's cert and key (or signer)",
                args.plan.display()
            )));
        }
        let cert = crate::ccf::ServiceCert::load(&plan.service.service_cert)?;
        let members = crate::commands::upgrade::load_members(&plan)?;
        let state_dir = args.state_dir.resolve();
        let (client, probe) = crate::observe::service_clients(&cert, Some(&state_dir), cancel)?;
        let gov = Governance::new(client.clone(), plan.service.nodes.clone(), members);
        Ok(VoteWiring {
            plan,
            client,
            probe,
            gov,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(id: &str, state: ProposalState) -> Proposal {
        Proposal {
            proposal_id: id.into(),
            proposer_id: "m".into(),
            proposal_state: state,
            ballot_count: 0,
            ballot_submitters: None,
            final_votes: None,
            vote_failures: None,
            failure: None,
        }
    }

    fn usage(r: Result<impl std::fmt::Debug, AppError>) -> String {
        match r {
            Err(AppError::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn ids_and_prefixes_are_told_apart_and_short_ones_refused() {
        let id = "ab".repeat(32);
        assert_eq!(id_or_prefix(&id).unwrap(), Given::Id(id.clone()));
        assert_eq!(
            id_or_prefix(&id[..8].to_uppercase()).unwrap(),
            Given::Prefix(id[..8].into())
        );
        for bad in ["abababa", "", "abababaz", "é".repeat(8).as_str()] {
            assert!(usage(id_or_prefix(bad)).contains("at least its first 8"));
        }
    }

    #[test]
    fn a_prefix_names_one_open_proposal_or_is_refused_naming_the_candidates() {
        let a = format!("12345678a{}", "0".repeat(55));
        let b = format!("12345678b{}", "0".repeat(55));
        let done = format!("9abcdef0{}", "0".repeat(56));
        let open = [
            proposal(&a, ProposalState::Open),
            proposal(&b, ProposalState::Open),
            proposal(&done, ProposalState::Accepted),
        ];
        assert_eq!(pick_open("12345678a", &open).unwrap(), a);
        let several = usage(pick_open("12345678", &open));
        assert!(several.contains(&a) && several.contains(&b), "{several}");
        let none = usage(pick_open("9abcdef0", &open));
        assert!(none.contains("the open proposals are"), "{none}");
        let nothing_open = usage(pick_open("12345678", &open[2..]));
        assert!(
            nothing_open.contains("no proposal is open"),
            "{nothing_open}"
        );
    }
}
