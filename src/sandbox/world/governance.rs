//! Governance: members, proposals and ballots as CCF's `src/node/gov/handlers/proposals.h`
//! handles them (`create_proposal` with its COSE replay window, `submit_ballot`,
//! `resolve_proposal`, withdrawal), with the default constitution's `resolve()`.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};
use sha2::Digest;

use super::attestation::VIRTUAL_MEASUREMENT;
use super::{ApiError, TxRef, World};
use crate::sandbox::constitution::{self, Action};
use crate::signing::PublicKey;

/// Default size of the COSE proposal replay window.
pub const RECENT_PROPOSALS_WINDOW: usize = 100;

/// A member.
#[derive(Debug, Clone)]
pub struct MemberRec {
    /// Member id.
    pub id: String,
    /// Certificate PEM.
    pub cert_pem: String,
    /// Public key.
    pub public_key: PublicKey,
    /// `Active` or `Accepted`.
    pub active: bool,
}

/// Proposal states (the sandbox's own, not the client's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PState {
    /// Collecting ballots.
    Open,
    /// Accepted and applied.
    Accepted,
    /// Withdrawn by its proposer.
    Withdrawn,
    /// Dropped by another proposal's add action.
    Dropped,
}

impl PState {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PState::Open => "Open",
            PState::Accepted => "Accepted",
            PState::Withdrawn => "Withdrawn",
            PState::Dropped => "Dropped",
        }
    }
}

/// A proposal.
#[derive(Debug, Clone)]
pub struct ProposalRec {
    /// Proposer member id.
    pub proposer: String,
    /// Raw proposal JSON (served by `/actions`).
    pub body: Vec<u8>,
    /// Validated actions.
    pub actions: Vec<Action>,
    /// State.
    pub state: PState,
    /// Ballot JS per member.
    pub ballots: BTreeMap<String, String>,
    /// Votes, once resolved.
    pub final_votes: Option<BTreeMap<String, bool>>,
    /// Ballots that could not be evaluated.
    pub vote_failures: Option<BTreeMap<String, String>>,
}

impl ProposalRec {
    /// CCF's JSON shape of a proposal.
    pub fn to_json(&self, id: &str) -> Value {
        let mut v = json!({
            "proposalId": id,
            "proposerId": self.proposer,
            "proposalState": self.state.as_str(),
            "ballotCount": self.ballots.len(),
            // In the 2024-07-01 schema (and newer releases), not emitted by every CCF build.
            "ballotSubmitters": self.ballots.keys().collect::<Vec<_>>(),
        });
        if let Some(fv) = &self.final_votes {
            v["finalVotes"] = json!(fv);
        }
        if let Some(vf) = &self.vote_failures {
            let m: BTreeMap<_, _> = vf
                .iter()
                .map(|(k, r)| (k.clone(), json!({ "reason": r })))
                .collect();
            v["voteFailures"] = json!(m);
        }
        v
    }
}

impl World {
    fn active_members(&self) -> usize {
        self.members.iter().filter(|m| m.active).count()
    }

    fn purge_other_completed(&mut self, keep: &str) {
        self.proposals
            .retain(|id, p| id == keep || p.state == PState::Open);
    }

    /// Other members' recent proposals signed `secs` ahead of this machine's clock fill the
    /// replay window, so its median (CCF's lower bound for `created_at`) moves that far
    /// ahead: what a signer whose clock is `secs` behind the others meets.
    pub fn skew_clock(&mut self, secs: u64) {
        let ahead = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            + secs;
        for i in 0..=self.recent.len() {
            let key = format!("{ahead:010}:{:064x}", i + 1);
            self.recent.insert(key, format!("{:064x}", i + 1));
        }
        while self.recent.len() > RECENT_PROPOSALS_WINDOW {
            let first = self.recent.keys().next().cloned().expect("non-empty");
            self.recent.remove(&first);
        }
    }

    /// `POST /gov/members/proposals:create` after authentication.
    pub fn create_proposal(
        &mut self,
        proposer: &str,
        created_at: u64,
        signature: &[u8],
        body: &[u8],
        now: Instant,
    ) -> Result<(Value, TxRef), ApiError> {
        self.require_primary()?;
        if created_at > 9_999_999_999 {
            return Err(ApiError::new(
                400,
                "InvalidCreatedAt",
                "Header parameter created_at value is too large",
            ));
        }
        let actions = constitution::validate(body).map_err(|d| {
            ApiError::new(
                400,
                "ProposalFailedToValidate",
                format!("Proposal failed to validate: {d}"),
            )
        })?;
        let digest = hex::encode(sha2::Sha256::digest(signature));
        let ts = format!("{created_at:010}");
        let key = format!("{ts}:{digest}");
        if let Some(existing) = self.recent.get(&key) {
            return Err(ApiError::new(
                400,
                "ProposalReplay",
                format!("Proposal submission replay, already exists as proposal {existing}"),
            ));
        }
        if !self.recent.is_empty() {
            let keys: Vec<&String> = self.recent.keys().collect();
            let median = keys[keys.len() / 2]
                .split(':')
                .next()
                .unwrap_or("")
                .to_string();
            if ts < median {
                return Err(ApiError::new(
                    400,
                    "ProposalCreatedTooLongAgo",
                    format!(
                        "Proposal created too long ago, created_at must be greater than {median}"
                    ),
                ));
            }
        }
        let mut h = sha2::Sha256::new();
        h.update(self.last_seqno().to_le_bytes());
        h.update(digest.as_bytes());
        let id = hex::encode(h.finalize());
        self.recent.insert(key, id.clone());
        self.created_proposals.push(body.to_vec());
        while self.recent.len() > RECENT_PROPOSALS_WINDOW {
            let first = self.recent.keys().next().cloned().expect("non-empty");
            self.recent.remove(&first);
        }
        let rec = ProposalRec {
            proposer: proposer.to_string(),
            body: body.to_vec(),
            actions,
            state: PState::Open,
            ballots: BTreeMap::new(),
            final_votes: None,
            vote_failures: None,
        };
        let json = rec.to_json(&id);
        self.proposals.insert(id, rec);
        Ok((json, self.append(Vec::new(), now)))
    }

    /// `POST .../ballots/{member}:submit` after authentication. `None` transaction when the
    /// identical ballot was already recorded (idempotent).
    pub fn submit_ballot(
        &mut self,
        member: &str,
        proposal_id: &str,
        ballot: &str,
        now: Instant,
    ) -> Result<(Value, Option<TxRef>), ApiError> {
        self.require_primary()?;
        let Some(rec) = self.proposals.get(proposal_id) else {
            return Err(ApiError::proposal_not_found(proposal_id));
        };
        if rec.state != PState::Open {
            return Err(ApiError::new(
                400,
                "ProposalNotOpen",
                format!(
                    "Proposal {proposal_id} is currently in state {} - only Open proposals can receive votes",
                    rec.state.as_str()
                ),
            ));
        }
        if let Some(existing) = rec.ballots.get(member) {
            if existing == ballot {
                return Ok((rec.to_json(proposal_id), None));
            }
            return Err(ApiError::new(
                400,
                "VoteAlreadyExists",
                format!("Vote already submitted by {member}"),
            ));
        }
        let mut ballots = rec.ballots.clone();
        ballots.insert(member.to_string(), ballot.to_string());
        let (votes, failures) = evaluate_ballots(&ballots);
        let yes = votes.values().filter(|v| **v).count();
        if constitution::resolve(yes, self.active_members()) {
            let (json, tx) = self.accept(proposal_id, ballots, votes, failures, now)?;
            return Ok((json, Some(tx)));
        }
        let rec = self.proposals.get_mut(proposal_id).expect("checked above");
        rec.ballots = ballots;
        let json = rec.to_json(proposal_id);
        Ok((json, Some(self.append(Vec::new(), now))))
    }

    /// The ballot that made an open proposal Accepted: `apply()` runs in the same transaction;
    /// if it throws, nothing is kept.
    fn accept(
        &mut self,
        proposal_id: &str,
        ballots: BTreeMap<String, String>,
        votes: BTreeMap<String, bool>,
        failures: BTreeMap<String, String>,
        now: Instant,
    ) -> Result<(Value, TxRef), ApiError> {
        let actions = self.proposals[proposal_id].actions.clone();
        if std::mem::take(&mut self.faults.fail_apply_next) {
            return Err(ApiError::new(
                500,
                "InternalError",
                "Failed to apply(): injected failure (the constitution threw)",
            ));
        }
        let effects = self
            .apply_actions(&actions, now)
            .map_err(|e| ApiError::new(500, "InternalError", format!("Failed to apply(): {e}")))?;
        let drops = actions
            .iter()
            .any(|a| constitution::drops_other_proposals(&a.name));
        let rec = self.proposals.get_mut(proposal_id).expect("checked above");
        rec.ballots = ballots;
        rec.state = PState::Accepted;
        rec.final_votes = Some(votes);
        rec.vote_failures = Some(failures);
        let json = rec.to_json(proposal_id);
        self.purge_other_completed(proposal_id);
        if drops {
            for (id, p) in self.proposals.iter_mut() {
                if id != proposal_id && p.state == PState::Open {
                    p.state = PState::Dropped;
                }
            }
        }
        let tx = self.append(effects, now);
        self.stamp_rows(tx.1, &actions);
        Ok((json, tx))
    }

    fn stamp_rows(&mut self, seqno: u64, actions: &[Action]) {
        for a in actions {
            if let Some(id) = a.args.get("node_id").and_then(Value::as_str)
                && let Some(row) = self.table.get_mut(id)
            {
                row.last_written = seqno;
            }
        }
    }

    /// `POST .../{id}:withdraw` after authentication. `None`: unknown proposal (204).
    pub fn withdraw(
        &mut self,
        member: &str,
        proposal_id: &str,
        now: Instant,
    ) -> Result<Option<(Value, TxRef)>, ApiError> {
        self.require_primary()?;
        let Some(rec) = self.proposals.get_mut(proposal_id) else {
            return Ok(None);
        };
        if rec.proposer != member {
            return Err(ApiError::new(
                403,
                "AuthorizationFailed",
                format!(
                    "Proposal {proposal_id} can only be withdrawn by the proposer {}, not caller {member}",
                    rec.proposer
                ),
            ));
        }
        if rec.state != PState::Open {
            return Err(ApiError::new(
                400,
                "ProposalNotOpen",
                format!(
                    "Proposal {proposal_id} is currently in state {} and cannot be withdrawn",
                    rec.state.as_str()
                ),
            ));
        }
        rec.state = PState::Withdrawn;
        let json = rec.to_json(proposal_id);
        self.purge_other_completed(proposal_id);
        Ok(Some((json, self.append(Vec::new(), now))))
    }

    /// Fault: another member's "add" proposal is accepted, dropping every open proposal.
    pub fn inject_foreign_add(&mut self, now: Instant) -> Result<(), ApiError> {
        self.require_primary()?;
        let mut dropped = 0;
        for p in self.proposals.values_mut() {
            if p.state == PState::Open {
                p.state = PState::Dropped;
                dropped += 1;
            }
        }
        self.join_policy
            .virtual_measurements
            .insert(VIRTUAL_MEASUREMENT.to_string());
        self.log.push(format!(
            "another member's add proposal was accepted: {} dropped",
            crate::english::count(dropped, "open proposal")
        ));
        self.append(Vec::new(), now);
        Ok(())
    }
}

/// Each member's vote, or why its ballot could not be evaluated.
fn evaluate_ballots(
    ballots: &BTreeMap<String, String>,
) -> (BTreeMap<String, bool>, BTreeMap<String, String>) {
    let mut votes = BTreeMap::new();
    let mut failures = BTreeMap::new();
    for (m, js) in ballots {
        match constitution::evaluate_ballot(js) {
            Ok(v) => {
                votes.insert(m.clone(), v);
            }
            Err(e) => {
                failures.insert(m.clone(), e);
            }
        }
    }
    (votes, failures)
}
