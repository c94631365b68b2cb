//! The governance API's proposals (`/gov/members/proposals*`): reads, and the signed writes
//! (create, withdraw, ballots) authenticated as CCF's `MemberCOSESign1AuthnPolicy` does.

use std::collections::HashMap;
use std::sync::MutexGuard;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{NodeCtx, error, gov_gate, gov_read, not_found, ok};
use crate::ccf::types::short_id;
use crate::sandbox::world::{ApiError, PState, World};
use crate::signing::ParsedMessage;

/// CCF's `MemberCOSESign1AuthnPolicy`, in its order of checks.
fn authenticate(
    w: &World,
    headers: &HeaderMap,
    body: &[u8],
    expected: &str,
) -> Result<ParsedMessage, ApiError> {
    let unauthorized = |m: String| ApiError::new(401, "InvalidAuthenticationInfo", m);
    let ct = headers
        .get(header::CONTENT_TYPE)
        .ok_or_else(|| unauthorized("Missing content-type header".into()))?;
    if ct.as_bytes() != b"application/cose" {
        return Err(unauthorized(
            "Content type is not set to application/cose".into(),
        ));
    }
    let msg = ParsedMessage::parse(body).map_err(|e| unauthorized(e.to_string()))?;
    let member = w
        .members
        .iter()
        .find(|m| m.id == msg.kid)
        .ok_or_else(|| unauthorized("Signer is not a known member".into()))?;
    msg.verify(&member.public_key)
        .map_err(|_| unauthorized("Failed to validate COSE Sign1".into()))?;
    if msg.msg_type != expected {
        return Err(unauthorized(format!(
            "Found ccf.gov.msg.type set to {}, expected ccf.gov.msg.type set to {expected}",
            msg.msg_type
        )));
    }
    if !member.active {
        return Err(unauthorized("Signer is not an ACTIVE member".into()));
    }
    Ok(msg)
}

/// The common prologue of signed governance writes: gate, api-version, authentication, and
/// the proposal id in the signature matching the URL. The world stays locked for the handler.
async fn signed_write<'a>(
    ctx: &'a NodeCtx,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
    expected_type: &str,
    url_proposal_id: Option<&str>,
) -> Result<(MutexGuard<'a, World>, ParsedMessage), Response> {
    gov_gate(ctx, q).await.map_err(error)?;
    let mut w = ctx.shared.world();
    w.write_requests += 1;
    let msg = authenticate(&w, headers, body, expected_type).map_err(error)?;
    if url_proposal_id.is_some() && msg.proposal_id.as_deref() != url_proposal_id {
        return Err(error(ApiError::new(
            400,
            "InvalidResourceName",
            "Authenticated proposal id does not match URL",
        )));
    }
    Ok((w, msg))
}

pub(super) async fn create_proposal(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (mut w, msg) = match signed_write(&ctx, &q, &headers, &body, "proposal", None).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match w.create_proposal(
        &msg.kid,
        msg.created_at,
        msg.signature(),
        &msg.payload,
        Instant::now(),
    ) {
        Ok((v, tx)) => ok(v, Some(tx)),
        Err(e) => error(e),
    }
}

pub(super) async fn list_proposals(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    let v: Vec<Value> = w.proposals.iter().map(|(id, p)| p.to_json(id)).collect();
    ok(json!({ "value": v }), None)
}

pub(super) async fn get_proposal(
    State(ctx): State<NodeCtx>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    match w.proposals.get(&id) {
        Some(p) => ok(p.to_json(&id), None),
        None => error(ApiError::proposal_not_found(&id)),
    }
}

pub(super) async fn proposal_actions(
    State(ctx): State<NodeCtx>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    match w.proposals.get(&id) {
        Some(p) => ([(header::CONTENT_TYPE, "application/json")], p.body.clone()).into_response(),
        None => error(ApiError::proposal_not_found(&id)),
    }
}

/// `POST /gov/members/proposals/{id}:withdraw`.
pub(super) async fn proposal_post(
    State(ctx): State<NodeCtx>,
    Path(id_action): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(id) = id_action.strip_suffix(":withdraw") else {
        return error(not_found(&format!(
            "Unknown path: /gov/members/proposals/{id_action}"
        )));
    };
    let (mut w, msg) = match signed_write(&ctx, &q, &headers, &body, "withdrawal", Some(id)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match w.withdraw(&msg.kid, id, Instant::now()) {
        Ok(Some((v, tx))) => ok(v, Some(tx)),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(e),
    }
}

pub(super) async fn get_ballot(
    State(ctx): State<NodeCtx>,
    Path((id, member)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    let Some(p) = w.proposals.get(&id) else {
        return error(ApiError::proposal_not_found(&id));
    };
    match p.ballots.get(&member) {
        Some(js) => ([(header::CONTENT_TYPE, "text/javascript")], js.clone()).into_response(),
        None => error(ApiError::new(
            404,
            "VoteNotFound",
            format!("Member {member} has not voted for proposal {id}."),
        )),
    }
}

pub(super) async fn submit_ballot(
    State(ctx): State<NodeCtx>,
    Path((id, member_action)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(member) = member_action.strip_suffix(":submit") else {
        return error(not_found(&format!(
            "Unknown path: /gov/members/proposals/{id}/ballots/{member_action}"
        )));
    };
    let (mut w, msg) = match signed_write(&ctx, &q, &headers, &body, "ballot", Some(&id)).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if msg.kid != member {
        return error(ApiError::new(
            400,
            "InvalidResourceName",
            "Authenticated member id does not match URL",
        ));
    }
    let ballot = serde_json::from_slice::<Value>(&msg.payload)
        .ok()
        .and_then(|v| v.get("ballot")?.as_str().map(str::to_string));
    let Some(ballot) = ballot else {
        return error(ApiError::new(
            400,
            "InvalidInput",
            "Expected a body of the form {\"ballot\": string}",
        ));
    };
    match w.submit_ballot(member, &id, &ballot, Instant::now()) {
        Ok((v, tx)) => {
            if v["proposalState"] == PState::Accepted.as_str() {
                w.log.push(format!("proposal {} accepted", short_id(&id)));
            }
            ok(v, tx)
        }
        Err(e) => error(e),
    }
}
