//! `noderoll vote`: show a proposal's actions and vote yes as the configured member(s).

use std::io::IsTerminal;

use crate::ccf::CcfClient;
use crate::ccf::governance::BALLOT_YES;
use crate::ccf::governance::Governance;
use crate::ccf::types::{ProposalState, is_hex_id, short_id};
use crate::cli::args::VoteArgs;
use crate::errors::AppError;
use crate::exit_codes;
use crate::output::{Printer, vote};
use crate::settings::PlanFile;
use crate::wait::Cancel;

/// Show, confirm, vote.
pub(crate) async fn run(args: &VoteArgs, printer: Printer, cancel: Cancel) -> Result<u8, AppError> {
    if !is_hex_id(&args.proposal_id) {
        return Err(AppError::Usage(format!(
            "{:?} is not a proposal id (64 lowercase hex characters)",
            args.proposal_id
        )));
    }
    let mut w = VoteWiring::load(args, &cancel)?;
    // The node to talk to, picked as every command picks it (falling back on where this
    // machine last saw the service's nodes); governance asks it first.
    let (node, _) =
        crate::observe::find_answering_node(&w.client, &w.probe, &w.plan.service.nodes).await?;
    let mut order = vec![node.clone()];
    order.extend(w.plan.service.nodes.iter().filter(|a| **a != node).cloned());
    w.gov.set_nodes(order);
    let proposal = w
        .client
        .proposal(&node, &args.proposal_id)
        .await?
        .ok_or_else(|| {
            AppError::Usage(format!(
                "no proposal {} on this service (completed proposals are purged)",
                args.proposal_id
            ))
        })?;
    let actions = w
        .client
        .proposal_actions(&node, &args.proposal_id)
        .await?
        .map(|b| b.actions)
        .unwrap_or_default();
    printer.human(&vote::render_proposal(&proposal, &actions))?;
    if proposal.proposal_state != ProposalState::Open {
        return Err(AppError::Usage(format!(
            "proposal {} is {}, not Open: nothing to vote on",
            args.proposal_id, proposal.proposal_state
        )));
    }
    if !args.yes {
        confirm()?;
    }
    let (voted, state) = vote_yes(&w, &args.proposal_id, &cancel).await?;
    printer.print(&vote::Voted {
        proposal_id: &args.proposal_id,
        ballots_submitted: voted,
        state: state
            .map(|s| s.to_string())
            .unwrap_or_else(|| "completed (purged)".into()),
    })?;
    Ok(exit_codes::SUCCESS)
}

/// Ask on the terminal; refused without one.
fn confirm() -> Result<(), AppError> {
    if !std::io::stdin().is_terminal() {
        return Err(AppError::Usage(
            "pass --yes to vote without a terminal".into(),
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
    fn load(args: &VoteArgs, cancel: &Cancel) -> Result<Self, AppError> {
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
