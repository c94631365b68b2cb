//! Governance operations against a scripted fake: signature checks, acceptance by majority,
//! waiting for commit, and CCF's quirks (replay after a lost response, stale `created_at`,
//! apply failures, Dropped, the retention 404, Invalid transactions).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use noderoll::ccf::governance::{GovError, GovEvent, GovTimeouts, Governance};
use noderoll::ccf::types::{Action, ProposalBody, ProposalState};
use noderoll::ccf::{CcfClient, ClientOptions, RetryPolicy, ServiceCert};
use noderoll::signing::{Member, MemberCert, ParsedMessage};
use noderoll::wait::Cancel;
use serde_json::{Value, json};

use crate::common::*;

#[derive(Default)]
struct Fake {
    members: Vec<(MemberCert, &'static str)>,
    proposals: HashMap<String, (ProposalState, u64)>,
    seen_signatures: HashMap<Vec<u8>, String>,
    creates: usize,
    ballots: usize,
    seqno: u64,
    // knobs
    lose_first_create_response: bool,
    min_created_at: Option<u64>,
    last_created_at: u64,
    ballot_outcome: Option<&'static str>, // "accept" (default), "drop", "fail", "none"
    tx_pending_polls: usize,
    tx_invalid: bool,
    purge_after_accept: bool,
    /// The next N ballots find a different ballot of that member already there.
    vote_exists: usize,
    /// The next N writes meet a TLS session opened before a view change.
    session_lost: usize,
}

/// CCF `src/node/rpc/frontend.h`, `check_session_consistency`: the request was not executed.
fn session_lost(f: &mut Fake) -> Option<Response> {
    (f.session_lost > 0).then(|| {
        f.session_lost -= 1;
        err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SessionConsistencyLost",
            "Potential loss of session consistency on session 7. Started in view 2, now in view 3. Closing session.",
        )
    })
}

type Shared = Arc<Mutex<Fake>>;

fn err(status: StatusCode, code: &str, msg: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": msg}})),
    )
        .into_response()
}

fn next_tx(f: &mut Fake) -> String {
    f.seqno += 1;
    format!("2.{}", f.seqno)
}

fn proposal_json(id: &str, state: ProposalState, ballots: u64) -> Value {
    json!({"proposalId": id, "proposerId": "p".repeat(64), "proposalState": state.as_str(), "ballotCount": ballots})
}

#[expect(clippy::result_large_err, reason = "early return from a test handler")]
fn authenticate(
    f: &Fake,
    headers: &HeaderMap,
    body: &[u8],
    expected_type: &str,
) -> Result<ParsedMessage, Response> {
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/cose") {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationInfo",
            "Content type is not set to application/cose",
        ));
    }
    let msg = ParsedMessage::parse(body).map_err(|e| {
        err(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationInfo",
            &e.to_string(),
        )
    })?;
    let (cert, status) = f
        .members
        .iter()
        .find(|(c, _)| c.member_id() == msg.kid)
        .ok_or_else(|| {
            err(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationInfo",
                "Signer is not a known member",
            )
        })?;
    msg.verify(cert.public_key()).map_err(|_| {
        err(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationInfo",
            "Failed to validate COSE Sign1",
        )
    })?;
    if *status != "Active" {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationInfo",
            "Signer is not an ACTIVE member",
        ));
    }
    if msg.msg_type != expected_type {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationInfo",
            "Found ccf.gov.msg.type set to something else",
        ));
    }
    Ok(msg)
}

async fn create(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut f = s.lock().unwrap();
    let msg = match authenticate(&f, &headers, &body, "proposal") {
        Ok(m) => m,
        Err(r) => return r,
    };
    f.last_created_at = msg.created_at;
    if let Some(min) = f.min_created_at
        && msg.created_at <= min
    {
        return err(
            StatusCode::BAD_REQUEST,
            "ProposalCreatedTooLongAgo",
            &format!("Proposal created too long ago, created_at must be greater than {min:010}"),
        );
    }
    if let Some(id) = f.seen_signatures.get(msg.signature()) {
        return err(
            StatusCode::BAD_REQUEST,
            "ProposalReplay",
            &format!("Proposal submission replay, already exists as proposal {id}"),
        );
    }
    f.creates += 1;
    let id = format!("{:064x}", f.creates);
    f.seen_signatures
        .insert(msg.signature().to_vec(), id.clone());
    f.proposals.insert(id.clone(), (ProposalState::Open, 0));
    let tx = next_tx(&mut f);
    if f.lose_first_create_response && f.creates == 1 {
        // Stored, but the answer never reaches the client.
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    (
        [("x-ms-ccf-transaction-id", tx)],
        axum::Json(proposal_json(&id, ProposalState::Open, 0)),
    )
        .into_response()
}

async fn ballot(
    State(s): State<Shared>,
    UrlPath((pid, member)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut f = s.lock().unwrap();
    let msg = match authenticate(&f, &headers, &body, "ballot") {
        Ok(m) => m,
        Err(r) => return r,
    };
    if let Some(r) = session_lost(&mut f) {
        return r;
    }
    let member = member.trim_end_matches(":submit").to_string();
    if msg.kid != member || msg.proposal_id.as_deref() != Some(pid.as_str()) {
        return err(
            StatusCode::BAD_REQUEST,
            "InvalidResourceName",
            "Authenticated member id does not match URL",
        );
    }
    let Some((state, ballots)) = f.proposals.get(&pid).copied() else {
        return err(
            StatusCode::NOT_FOUND,
            "ProposalNotFound",
            "Could not find proposal",
        );
    };
    if state != ProposalState::Open {
        return err(
            StatusCode::BAD_REQUEST,
            "ProposalNotOpen",
            "only Open proposals can receive votes",
        );
    }
    if f.vote_exists > 0 {
        // That member's earlier ballot (another text, also in favour) is on the proposal.
        f.vote_exists -= 1;
        f.proposals.insert(pid.clone(), (state, ballots + 1));
        return err(
            StatusCode::BAD_REQUEST,
            "VoteAlreadyExists",
            &format!("Different ballot already submitted by {member} for {pid}."),
        );
    }
    f.ballots += 1;
    let active = f.members.iter().filter(|(_, s)| *s == "Active").count() as u64;
    let new_state = match f.ballot_outcome.unwrap_or("accept") {
        "fail" => {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "Failed to apply(): boom",
            );
        }
        "drop" => ProposalState::Dropped,
        _ if ballots + 1 > active / 2 => ProposalState::Accepted,
        _ => ProposalState::Open,
    };
    f.proposals.insert(pid.clone(), (new_state, ballots + 1));
    let tx = next_tx(&mut f);
    (
        [("x-ms-ccf-transaction-id", tx)],
        axum::Json(proposal_json(&pid, new_state, ballots + 1)),
    )
        .into_response()
}

async fn get_proposal(State(s): State<Shared>, UrlPath(pid): UrlPath<String>) -> Response {
    let f = s.lock().unwrap();
    match f.proposals.get(&pid) {
        Some((state, _)) if f.purge_after_accept && *state != ProposalState::Open => err(
            StatusCode::NOT_FOUND,
            "ProposalNotFound",
            "Could not find proposal",
        ),
        Some((state, b)) => axum::Json(proposal_json(&pid, *state, *b)).into_response(),
        None => err(
            StatusCode::NOT_FOUND,
            "ProposalNotFound",
            "Could not find proposal",
        ),
    }
}

async fn list_proposals(State(s): State<Shared>) -> Response {
    let f = s.lock().unwrap();
    let value: Vec<Value> = f
        .proposals
        .iter()
        .map(|(id, (state, b))| proposal_json(id, *state, *b))
        .collect();
    axum::Json(json!({ "value": value })).into_response()
}

async fn members(State(s): State<Shared>) -> Response {
    let f = s.lock().unwrap();
    let value: Vec<Value> = f
        .members
        .iter()
        .map(|(c, st)| json!({"memberId": c.member_id(), "status": st, "certificate": c.pem()}))
        .collect();
    axum::Json(json!({ "value": value })).into_response()
}

async fn tx(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut f = s.lock().unwrap();
    let id = q.get("transaction_id").cloned().unwrap_or_default();
    let status = if f.tx_invalid {
        "Invalid"
    } else if f.tx_pending_polls > 0 {
        f.tx_pending_polls -= 1;
        "Pending"
    } else {
        "Committed"
    };
    axum::Json(json!({"transaction_id": id, "status": status})).into_response()
}

struct Setup {
    _dir: tempfile::TempDir,
    _server: TestServer,
    fake: Shared,
    gov: Governance,
    events: Arc<Mutex<Vec<GovEvent>>>,
}

/// A service with `active` + `accepted` members; those at `ours_idx` are configured in noderoll.
async fn setup(
    active: usize,
    accepted: usize,
    ours_idx: &[usize],
    tweak: impl FnOnce(&mut Fake),
) -> Setup {
    init();
    let dir = tempfile::tempdir().unwrap();
    let service = ServiceIdentity::new();
    let cert_path = dir.path().join("service_cert.pem");
    std::fs::write(&cert_path, &service.cert_pem).unwrap();
    let mut fake = Fake::default();
    let mut ours = Vec::new();
    for i in 0..active + accepted {
        let m = member_files(
            dir.path(),
            &format!("member{i}"),
            if i % 2 == 0 { Curve::P384 } else { Curve::P256 },
        );
        let status = if i < active { "Active" } else { "Accepted" };
        fake.members
            .push((MemberCert::load(&m.cert).unwrap(), status));
        if ours_idx.contains(&i) {
            ours.push(Arc::new(Member::load(&m.cert, &m.key_sec1).unwrap()));
        }
    }
    tweak(&mut fake);
    let shared: Shared = Arc::new(Mutex::new(fake));
    let router = Router::new()
        .route("/gov/members/proposals:create", post(create))
        .route("/gov/members/proposals", get(list_proposals))
        .route("/gov/members/proposals/{pid}", get(get_proposal))
        .route(
            "/gov/members/proposals/{pid}/ballots/{member}",
            post(ballot),
        )
        .route("/gov/service/members", get(members))
        .route("/node/tx", get(tx))
        .with_state(shared.clone());
    let server = TestServer::start(router, &service.node_cert()).await;
    let opts = ClientOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
            unreachable_attempts: 6,
        },
        ..Default::default()
    };
    let client = CcfClient::new(
        &ServiceCert::load(&cert_path).unwrap(),
        opts,
        Cancel::never(),
    )
    .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let gov = Governance::new(client, vec![server.addr.clone()], ours)
        .with_timeouts(GovTimeouts {
            accept: Duration::from_secs(10),
            commit: Duration::from_secs(10),
        })
        .with_observer(Arc::new(move |e: &GovEvent| {
            ev.lock().unwrap().push(e.clone())
        }));
    Setup {
        _dir: dir,
        _server: server,
        fake: shared,
        gov,
        events,
    }
}

fn body() -> ProposalBody {
    ProposalBody {
        actions: vec![Action::new(
            "add_virtual_host_data",
            json!({"host_data": "ab".repeat(32)}),
        )],
    }
}

#[tokio::test]
async fn a_proposal_is_voted_through_and_its_acceptance_committed() {
    let s = setup(3, 0, &[0, 1], |f| f.tx_pending_polls = 2).await;
    let passed = s.gov.pass(&body(), &Cancel::never()).await.unwrap();
    let f = s.fake.lock().unwrap();
    assert_eq!(f.creates, 1);
    assert_eq!(
        f.ballots, 2,
        "3 active members: 2 yes votes are a strict majority"
    );
    assert_eq!(f.proposals[&passed.proposal_id].0, ProposalState::Accepted);
    assert_eq!(
        f.tx_pending_polls, 0,
        "the acceptance was waited on until Committed"
    );
    assert!(passed.txid.is_some());
}

#[tokio::test]
async fn a_lost_create_response_is_recovered_through_proposal_replay() {
    let s = setup(1, 0, &[0], |f| f.lose_first_create_response = true).await;
    let passed = s.gov.pass(&body(), &Cancel::never()).await.unwrap();
    let f = s.fake.lock().unwrap();
    assert_eq!(f.creates, 1, "no duplicate proposal");
    assert_eq!(passed.proposal_id, format!("{:064x}", 1));
    assert!(s.events.lock().unwrap().contains(&GovEvent::Proposed {
        proposal_id: passed.proposal_id.clone(),
        recovered: true,
        actions: vec!["add_virtual_host_data".into()],
    }));
}

#[tokio::test]
async fn a_stale_created_at_is_restamped_once() {
    let min = jiff::Timestamp::now().as_second() as u64 + 600;
    let s = setup(1, 0, &[0], |f| f.min_created_at = Some(min)).await;
    s.gov.pass(&body(), &Cancel::never()).await.unwrap();
    assert_eq!(s.fake.lock().unwrap().last_created_at, min + 1);
    assert!(s.events.lock().unwrap().contains(&GovEvent::Restamped {
        created_at: min + 1
    }));
}

#[tokio::test]
async fn a_signer_clock_ten_minutes_behind_is_corrected() {
    // The service's window says "newer than 5 minutes ago"; the signer is 10 minutes behind.
    let now = jiff::Timestamp::now().as_second() as u64;
    let s = setup(1, 0, &[0], |f| f.min_created_at = Some(now - 300)).await;
    let gov = s.gov.clone().with_clock_offset(-600);
    gov.pass(&body(), &Cancel::never()).await.unwrap();
    assert_eq!(s.fake.lock().unwrap().last_created_at, now - 299);
}

#[tokio::test]
async fn apply_failures_drops_and_invalid_transactions_are_reported() {
    let s = setup(1, 0, &[0], |f| f.ballot_outcome = Some("fail")).await;
    let e = s.gov.pass(&body(), &Cancel::never()).await.unwrap_err();
    assert!(matches!(e, GovError::FailedToApply { .. }), "{e}");
    assert!(e.to_string().contains("Failed to apply(): boom"), "{e}");

    let s = setup(1, 0, &[0], |f| f.ballot_outcome = Some("drop")).await;
    let e = s.gov.pass(&body(), &Cancel::never()).await.unwrap_err();
    assert!(
        matches!(
            e,
            GovError::NotAccepted {
                state: ProposalState::Dropped,
                ..
            }
        ),
        "{e}"
    );

    let s = setup(1, 0, &[0], |f| f.tx_invalid = true).await;
    let e = s.gov.pass(&body(), &Cancel::never()).await.unwrap_err();
    assert!(matches!(e, GovError::TxInvalid { .. }), "{e}");
}

#[tokio::test]
async fn with_too_few_configured_members_it_waits_for_the_others() {
    let s = setup(3, 0, &[0], |_| {}).await;
    let gov = s.gov.clone();
    let task = tokio::spawn(async move { gov.pass(&body(), &Cancel::never()).await });
    // Poll (bounded) until noderoll says it is waiting, then let "another member" accept it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let id = loop {
        let found = s.events.lock().unwrap().iter().find_map(|e| match e {
            GovEvent::WaitingForMembers {
                proposal_id,
                needed,
                voted,
            } => {
                assert_eq!((*needed, *voted), (2, 1));
                Some(proposal_id.clone())
            }
            _ => None,
        });
        if let Some(id) = found {
            break id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never started waiting for other members"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    s.fake
        .lock()
        .unwrap()
        .proposals
        .insert(id.clone(), (ProposalState::Accepted, 2));
    let passed = task.await.unwrap().unwrap();
    assert_eq!(passed.proposal_id, id);
    assert_eq!(passed.txid, None, "accepted by someone else's ballot");
}

#[tokio::test]
async fn a_purged_outcome_is_reported_as_unknown_not_as_success() {
    let s = setup(3, 0, &[0], |f| f.purge_after_accept = true).await;
    let gov = s.gov.clone();
    let task = tokio::spawn(async move { gov.pass(&body(), &Cancel::never()).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let id = s.fake.lock().unwrap().proposals.keys().next().cloned();
        if let Some(id) = id
            && s.fake.lock().unwrap().ballots == 1
        {
            s.fake
                .lock()
                .unwrap()
                .proposals
                .insert(id, (ProposalState::Accepted, 2));
            break;
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let e = task.await.unwrap().unwrap_err();
    assert!(matches!(e, GovError::OutcomeUnknown { .. }), "{e}");
}

#[tokio::test]
async fn no_active_configured_member_is_refused_before_proposing() {
    // Only the Accepted (not yet Active) member is configured.
    let s = setup(1, 1, &[1], |_| {}).await;
    let e = s.gov.pass(&body(), &Cancel::never()).await.unwrap_err();
    assert!(matches!(e, GovError::NoActiveMember { .. }), "{e}");
    assert_eq!(s.fake.lock().unwrap().creates, 0);
}

#[tokio::test]
async fn a_wait_is_cancelled_immediately() {
    let s = setup(3, 0, &[0], |_| {}).await;
    let (handle, cancel) = Cancel::new();
    let gov = s.gov.clone();
    let task = tokio::spawn(async move { gov.pass(&body(), &cancel).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !s
        .events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, GovEvent::WaitingForMembers { .. }))
    {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handle.cancel();
    let e = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            e,
            GovError::Wait(noderoll::wait::WaitError::Cancelled { .. })
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_ballot_already_there_is_read_back_and_the_others_vote() {
    // CCF `proposals.h`, `submit_ballot`: a different ballot from the same member answers
    // 400 VoteAlreadyExists; the proposal is read and the run carries on.
    let s = setup(3, 0, &[0, 1], |f| f.vote_exists = 1).await;
    let passed = s.gov.pass(&body(), &Cancel::never()).await.unwrap();
    let f = s.fake.lock().unwrap();
    assert_eq!(f.vote_exists, 0, "the first ballot met an existing one");
    assert_eq!(f.proposals[&passed.proposal_id].0, ProposalState::Accepted);
}

#[tokio::test]
async fn a_write_on_a_session_lost_to_a_view_change_is_sent_again() {
    // The ballot answered 500 SessionConsistencyLost was not executed: sent again on a new
    // connection, it counts once.
    let s = setup(3, 0, &[0, 1], |f| f.session_lost = 1).await;
    let passed = s.gov.pass(&body(), &Cancel::never()).await.unwrap();
    let f = s.fake.lock().unwrap();
    assert_eq!(f.session_lost, 0);
    assert_eq!(f.creates, 1);
    assert_eq!(f.proposals[&passed.proposal_id].0, ProposalState::Accepted);
}
