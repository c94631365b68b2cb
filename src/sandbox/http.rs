//! The HTTPS API each simulated node serves: CCF's node endpoints and governance API
//! `2024-07-01`, with CCF's JSON field names, status codes and OData error bodies.
//!
//! Responses are built here with `json!`, independently of the client's types, so a field
//! name mistake cannot hide in both; `tests/it/sandbox_conformance.rs` validates them against
//! CCF's published OpenAPI schemas.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde_json::{Value, json};

use super::world::{ApiError, PState, Platform, SimNode, Status, World, short};
use crate::signing::ParsedMessage;

/// State shared by every node's server.
pub struct Shared {
    /// The simulated service.
    pub world: Mutex<World>,
    /// Service certificate PEM (replaced when renewed).
    pub service_cert_pem: Mutex<String>,
    /// Endorsed certificate PEM per node slot.
    pub endorsed_pems: Mutex<Vec<String>>,
    /// The certificate each node's listener presents, per slot.
    pub cert_slots: Mutex<Vec<Arc<super::pki::CertSlot>>>,
    /// The previous service's certificate, when the service is a recovered one.
    pub previous_service_cert_pem: Option<String>,
    /// TLS sessions per node: connection → (session id, view of its first request).
    pub sessions: Mutex<HashMap<(usize, u64), (u64, u64)>>,
}

impl Shared {
    /// The current service certificate PEM.
    pub fn service_cert(&self) -> String {
        self.service_cert_pem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Lock the world (a poisoned lock still holds consistent simulation state).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Per-node handler state.
#[derive(Clone)]
pub struct NodeCtx {
    shared: Arc<Shared>,
    slot: usize,
}

const SUPPORTED_API_VERSIONS: &[&str] = &["2023-06-01-preview", "2024-07-01"];

fn error(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (
        status,
        axum::Json(json!({"error": {"code": e.code, "message": e.message}})),
    )
        .into_response();
    if e.status == 401 {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("COSE-SIGN1 realm=\"Signed request access\""),
        );
    }
    r
}

fn ok(v: Value, txid: Option<(u64, u64)>) -> Response {
    let mut r = axum::Json(v).into_response();
    if let Some((view, seqno)) = txid
        && let Ok(h) = HeaderValue::from_str(&format!("{view}.{seqno}"))
    {
        r.headers_mut().insert("x-ms-ccf-transaction-id", h);
    }
    r
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(404, "ResourceNotFound", what.to_string())
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Injected latency and failures, and what a node that is not part of the network answers.
async fn gate(ctx: &NodeCtx, node_local: bool) -> Result<(), ApiError> {
    let latency = {
        let mut w = ctx.shared.world();
        if let Some(e) = w.injected_failure() {
            return Err(e);
        }
        w.faults.latency_ms
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let w = ctx.shared.world();
    if !node_local && !w.nodes[ctx.slot].part_of_network() {
        return Err(ApiError::new(
            503,
            "ServiceUnavailable",
            "Node is not yet part of the network",
        ));
    }
    Ok(())
}

fn rpc_interfaces(addr: &str) -> Value {
    json!({"primary_rpc_interface": {
        "bind_address": addr,
        "published_address": addr,
        "app_protocol": "HTTP1",
        "max_open_sessions_soft": 1000,
        "max_open_sessions_hard": 1010,
        "endorsement": {"authority": "Service"}
    }})
}

fn node_info(w: &World, id: &str) -> Option<Value> {
    let row = w.table.get(id)?;
    let node = &w.nodes[row.slot];
    Some(json!({
        "node_id": id,
        "status": row.status.as_str(),
        "primary": w.primary.as_deref() == Some(id),
        "rpc_interfaces": rpc_interfaces(&node.address()),
        "node_data": row.node_data,
        "last_written": row.last_written,
    }))
}

/// The raw quote bytes: virtual nodes report JSON; SNP nodes an attestation report (1184
/// bytes) with REPORT_DATA at 0x50, MEASUREMENT at 0x90 and HOST_DATA at 0xC0, as AMD lays it
/// out.
fn quote_raw(node: &SimNode) -> Vec<u8> {
    match node.build.platform {
        Platform::Virtual => {
            let raw = json!({"measurement": node.build.measurement, "host_data": node.build.host_data, "report_data": node.node_id});
            raw.to_string().into_bytes()
        }
        Platform::Snp => {
            let mut report = vec![0u8; 0x4A0];
            report[0] = 2; // VERSION
            let put = |r: &mut Vec<u8>, at: usize, hex_value: &str| {
                if let Ok(bytes) = hex::decode(hex_value) {
                    r[at..at + bytes.len()].copy_from_slice(&bytes);
                }
            };
            put(&mut report, 0x50, &node.node_id);
            put(&mut report, 0x90, &node.build.measurement);
            put(&mut report, 0xC0, &node.build.host_data);
            report
        }
    }
}

/// The TCB the environment endorsed (ACI: `endorsed_tcb` from the UVM security context;
/// synthetic here), hex as CCF stores it.
const ENDORSED_TCB_HEX: &str = "d315000000000004";

// ----- node endpoints ---------------------------------------------------------------------

async fn network(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let w = ctx.shared.world();
    ok(
        json!({
            "service_status": "Open",
            "service_certificate": ctx.shared.service_cert(),
            "current_view": w.view,
            "primary_id": w.primary,
            "recovery_count": w.recovery_count,
            "service_data": {},
            "current_service_create_txid": format!("{}.1", super::world::GENESIS_VIEW),
        }),
        None,
    )
}

async fn nodes(State(ctx): State<NodeCtx>, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let status = match q.get("status") {
        None => None,
        Some(s) => match Status::parse(s) {
            Some(st) => Some(st),
            None => {
                return error(ApiError::new(
                    400,
                    "InvalidQueryParameterValue",
                    format!("Query parameter '{s}' is not a valid node status"),
                ));
            }
        },
    };
    let w = ctx.shared.world();
    let list: Vec<Value> = w
        .table
        .iter()
        .filter(|(_, r)| status.is_none_or(|s| r.status == s))
        .filter(|(_, r)| {
            let n = &w.nodes[r.slot];
            q.get("host")
                .is_none_or(|h| h == "127.0.0.1" || h == "localhost")
                && q.get("port").is_none_or(|p| *p == n.port.to_string())
        })
        .filter_map(|(id, _)| node_info(&w, id))
        .collect();
    ok(json!({ "nodes": list }), None)
}

async fn node_by_id(State(ctx): State<NodeCtx>, Path(id): Path<String>) -> Response {
    let local = id == "self";
    if let Err(e) = gate(&ctx, local).await {
        return error(e);
    }
    let w = ctx.shared.world();
    let id = match id.as_str() {
        "self" => w.nodes[ctx.slot].node_id.clone(),
        "primary" => match &w.primary {
            Some(p) => p.clone(),
            None => return error(ApiError::new(500, "InternalError", "Primary unknown")),
        },
        other if !is_hex64(other) => {
            return error(ApiError::new(
                400,
                "InvalidResourceName",
                format!("Invalid node id {other:?}"),
            ));
        }
        other => other.to_string(),
    };
    match node_info(&w, &id) {
        Some(v) => ok(v, None),
        None if local => {
            // Still joining: CCF answers from the node's startup configuration.
            let n = &w.nodes[ctx.slot];
            ok(
                json!({"node_id": id, "status": "Pending", "primary": false,
                       "rpc_interfaces": rpc_interfaces(&n.address()), "node_data": null, "last_written": 0}),
                None,
            )
        }
        None => error(not_found("Node not found")),
    }
}

async fn delete_node(State(ctx): State<NodeCtx>, Path(id): Path<String>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    if !is_hex64(&id) {
        return error(ApiError::new(
            400,
            "InvalidResourceName",
            format!("Invalid node id {id:?}"),
        ));
    }
    let mut w = ctx.shared.world();
    w.write_requests += 1;
    match w.delete_node(&id, Instant::now()) {
        Ok(tx) => ok(json!(true), Some(tx)),
        Err(e) => error(e),
    }
}

async fn removable(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let w = ctx.shared.world();
    let list: Vec<Value> = w
        .table
        .keys()
        .filter(|id| w.removable(id))
        .filter_map(|id| {
            let mut v = node_info(&w, id)?;
            v["primary"] = json!(false);
            Some(v)
        })
        .collect();
    ok(json!({ "nodes": list }), None)
}

async fn version(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, true).await {
        return error(e);
    }
    let w = ctx.shared.world();
    let b = &w.nodes[ctx.slot].build;
    ok(
        json!({"ccf_version": b.ccf_version, "quickjs_version": "2024-01-13", "unsafe": false}),
        None,
    )
}

async fn state(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, true).await {
        return error(e);
    }
    let w = ctx.shared.world();
    let n = &w.nodes[ctx.slot];
    let st = if n.part_of_network() {
        "PartOfNetwork"
    } else {
        "Pending"
    };
    ok(
        json!({"node_id": n.node_id, "state": st, "last_signed_seqno": w.commit_seqno,
               "startup_seqno": 0, "stop_notice": false}),
        None,
    )
}

async fn ready(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, true).await {
        return error(e);
    }
    let w = ctx.shared.world();
    if w.nodes[ctx.slot].caught_up() && !w.nodes[ctx.slot].never_ready {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    }
}

async fn commit(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let w = ctx.shared.world();
    ok(
        json!({"transaction_id": format!("{}.{}", w.view_of(w.commit_seqno), w.commit_seqno)}),
        None,
    )
}

fn parse_txid(s: &str) -> Option<(u64, u64)> {
    let (v, n) = s.split_once('.')?;
    Some((v.parse().ok()?, n.parse().ok()?))
}

async fn tx(State(ctx): State<NodeCtx>, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let Some(raw) = q.get("transaction_id") else {
        return error(ApiError::new(
            400,
            "InvalidQueryParameterValue",
            "Missing query parameter 'transaction_id'",
        ));
    };
    let Some((view, seqno)) = parse_txid(raw) else {
        return error(ApiError::new(
            400,
            "InvalidQueryParameterValue",
            format!(
                "The value '{raw}' passed as query parameter 'transaction_id' could not be converted"
            ),
        ));
    };
    let w = ctx.shared.world();
    ok(
        json!({"transaction_id": raw, "status": w.tx_status(view, seqno)}),
        None,
    )
}

async fn consensus(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let w = ctx.shared.world();
    let me = &w.nodes[ctx.slot];
    let nodes: serde_json::Map<String, Value> = w
        .table
        .iter()
        .filter(|(_, r)| r.status == Status::Trusted)
        .map(|(id, r)| (id.clone(), json!({"address": w.nodes[r.slot].address()})))
        .collect();
    let leadership = match &w.primary {
        Some(p) if *p == me.node_id => "Leader",
        Some(_) => "Follower",
        None => "Candidate",
    };
    let membership = if w
        .table
        .get(&me.node_id)
        .is_some_and(|r| r.status == Status::Retired)
    {
        "Retired"
    } else {
        "Active"
    };
    let mut details = json!({
        "configs": [{"idx": w.commit_seqno, "rid": w.commit_seqno, "nodes": nodes}],
        "acks": {},
        "membership_state": membership,
        "leadership_state": leadership,
        "ticking": true,
        "current_view": w.view,
    });
    if let Some(p) = &w.primary {
        details["primary_id"] = json!(p);
    }
    ok(json!({ "details": details }), None)
}

/// CCF's `Quote` of a node as stored in its `nodes.info` row (the quote it presented when it
/// joined): `raw` and `endorsements` base64, `uvm_endorsements` when present, `measurement` the
/// recorded code digest.
fn quote_json(node: &SimNode) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let measurement = match node.build.platform {
        Platform::Virtual => hex::encode(node.build.measurement.as_bytes()),
        Platform::Snp => node.build.measurement.clone(),
    };
    let mut q = json!({"node_id": node.node_id, "raw": b64.encode(quote_raw(node)), "endorsements": "",
                       "format": node.build.platform.quote_format(), "measurement": measurement});
    if node.build.platform == Platform::Snp
        && let Some(u) = &node.build.uvm
    {
        q["uvm_endorsements"] = json!(b64.encode(u.raw()));
    }
    q
}

/// `GET /node/quotes/self` and `/node/attestations/self`. CCF
/// (`BaseEndpointRegistry::get_quote_for_this_node_v1`) reads the node's own row from its
/// *local* store: a node that is joining, pending or still catching up has no ledger yet, so
/// it answers 404 until it is trusted and caught up.
async fn quote_self(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, true).await {
        return error(e);
    }
    let w = ctx.shared.world();
    let n = &w.nodes[ctx.slot];
    if !n.caught_up() || !w.table.contains_key(&n.node_id) {
        return error(not_found("Could not find node quote."));
    }
    ok(quote_json(n), None)
}

/// The quotes of every Trusted node (CCF `get_quotes` in node_frontend.h: status == TRUSTED).
fn trusted_quotes(w: &World) -> Vec<Value> {
    w.table
        .values()
        .filter(|r| r.status == Status::Trusted)
        .map(|r| quote_json(&w.nodes[r.slot]))
        .collect()
}

async fn quotes(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let w = ctx.shared.world();
    ok(json!({ "quotes": trusted_quotes(&w) }), None)
}

async fn attestations(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let w = ctx.shared.world();
    ok(json!({ "attestations": trusted_quotes(&w) }), None)
}

async fn previous_identity(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    match ctx.shared.previous_service_cert_pem.clone() {
        Some(pem) => ok(json!({ "previous_service_identity": pem }), None),
        None => error(not_found(
            "This service is not a recovery of a previous service.",
        )),
    }
}

// ----- governance ---------------------------------------------------------------------------

fn check_api_version(q: &HashMap<String, String>) -> Result<(), ApiError> {
    match q.get("api-version") {
        None => Err(ApiError::new(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests",
        )),
        Some(v) if SUPPORTED_API_VERSIONS.contains(&v.as_str()) => Ok(()),
        Some(v) => Err(ApiError::new(
            400,
            "UnsupportedApiVersionValue",
            format!(
                "Unsupported api-version '{v}'. The supported api-versions are: {}",
                SUPPORTED_API_VERSIONS.join(", ")
            ),
        )),
    }
}

async fn gov_gate(ctx: &NodeCtx, q: &HashMap<String, String>) -> Result<(), ApiError> {
    gate(ctx, false).await?;
    check_api_version(q)
}

macro_rules! gov_read {
    ($ctx:ident, $q:ident) => {
        if let Err(e) = gov_gate(&$ctx, &$q).await {
            return error(e);
        }
    };
}

async fn members(State(ctx): State<NodeCtx>, Query(q): Query<HashMap<String, String>>) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    let v: Vec<Value> = w.members.iter().map(member_json).collect();
    ok(json!({ "value": v }), None)
}

fn member_json(m: &super::world::MemberRec) -> Value {
    json!({"memberId": m.id, "status": if m.active { "Active" } else { "Accepted" }, "certificate": m.cert_pem,
           "memberData": null, "recoveryRole": "NonParticipant"})
}

async fn member(
    State(ctx): State<NodeCtx>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    match w.members.iter().find(|m| m.id == id) {
        Some(m) => ok(member_json(m), None),
        None => error(not_found(&format!("Member {id} does not exist"))),
    }
}

/// CCF `produce_node_description` (`src/node/gov/handlers/service_state.h`), from the
/// `nodes.info` row the join wrote (its `quote_info` is stored at join, so Pending nodes have
/// it too):
/// * `certificate` only if `nodes.endorsed_certificates` has one, which the constitution's
///   `transition_node_to_trusted` writes: absent for Pending nodes, kept once Retired;
/// * `retiredCommitted` always;
/// * `quoteInfo` for `Insecure_Virtual`: `format`, `rawQuote` (the quote's bytes, base64 as
///   CCF's `adl_serializer<std::vector<uint8_t>>` writes them) and `details` {`measurement`,
///   `reportData`, `hostData`} parsed from that JSON; for `AMD_SEV_SNP_v1`: `format`, and
///   only if present `uvmEndorsements` and `endorsedTcb` (base64); no report, no measurement.
fn gov_node_json(ctx: &NodeCtx, w: &World, id: &str) -> Option<Value> {
    let row = w.table.get(id)?;
    let n = &w.nodes[row.slot];
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut v = json!({
        "nodeId": id,
        "status": row.status.as_str(),
        "nodeData": row.node_data,
    });
    if row.status != Status::Pending
        && let Some(cert) = ctx
            .shared
            .endorsed_pems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(row.slot)
            .cloned()
    {
        v["certificate"] = json!(cert);
    }
    v["retiredCommitted"] = json!(row.retired_committed);
    let quote_info = match n.build.platform {
        Platform::Virtual => {
            let raw = quote_raw(n);
            let details: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
            json!({
                "format": "Insecure_Virtual",
                "rawQuote": b64.encode(&raw),
                "details": {
                    "measurement": details["measurement"],
                    "reportData": details["report_data"],
                    "hostData": details["host_data"],
                },
            })
        }
        Platform::Snp => {
            let mut q = json!({"format": "AMD_SEV_SNP_v1"});
            if let Some(u) = &n.build.uvm {
                q["uvmEndorsements"] = json!(b64.encode(u.raw()));
                if let Ok(tcb) = hex::decode(ENDORSED_TCB_HEX) {
                    q["endorsedTcb"] = json!(b64.encode(tcb));
                }
            }
            q
        }
    };
    v["quoteInfo"] = quote_info;
    v["rpcInterfaces"] =
        json!({"primary_rpc_interface": {"publishedAddress": n.address(), "protocol": "HTTP1"}});
    Some(v)
}

async fn gov_nodes(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    let v: Vec<Value> = w
        .table
        .keys()
        .filter_map(|id| gov_node_json(&ctx, &w, id))
        .collect();
    ok(json!({ "value": v }), None)
}

async fn gov_node(
    State(ctx): State<NodeCtx>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    match gov_node_json(&ctx, &w, &id) {
        Some(v) => ok(v, None),
        None => error(not_found(&format!("Node {id} does not exist"))),
    }
}

async fn join_policy(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    let jp = &w.join_policy;
    let uvm: serde_json::Map<String, Value> = jp
        .snp_uvm
        .iter()
        .map(|(did, feeds)| {
            let f: serde_json::Map<String, Value> = feeds
                .iter()
                .map(|(feed, svn)| (feed.clone(), json!({ "svn": svn })))
                .collect();
            (did.clone(), Value::Object(f))
        })
        .collect();
    ok(
        json!({
            "sgx": {"measurements": []},
            "virtual": {"measurements": jp.virtual_measurements, "hostData": jp.virtual_host_data},
            "snp": {"measurements": jp.snp_measurements, "hostData": jp.snp_host_data,
                    "uvmEndorsements": uvm, "tcbVersions": {}}
        }),
        None,
    )
}

async fn service_info(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let recovery_count = ctx.shared.world().recovery_count;
    ok(
        json!({
            "status": "Open",
            "certificate": ctx.shared.service_cert(),
            "recoveryCount": recovery_count,
            "creationTransactionId": format!("{}.1", super::world::GENESIS_VIEW),
            "serviceData": {},
            "configuration": {
                "recoveryThreshold": 1,
                "maximumNodeCertificateValidityDays": super::world::MAX_NODE_CERT_VALIDITY_DAYS,
                "maximumServiceCertificateValidityDays": 365,
                "recentCoseProposalsWindowSize": super::world::RECENT_PROPOSALS_WINDOW
            }
        }),
        None,
    )
}

async fn constitution(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let text = ctx.shared.world().constitution.clone();
    ([(header::CONTENT_TYPE, "text/javascript")], text).into_response()
}

async fn gov_tx(
    State(ctx): State<NodeCtx>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    if id == "commit" {
        return ok(
            json!({"transactionId": format!("{}.{}", w.view_of(w.commit_seqno), w.commit_seqno), "status": "Committed"}),
            None,
        );
    }
    match parse_txid(&id) {
        Some((v, s)) => ok(json!({"status": w.tx_status(v, s)}), None),
        None => error(ApiError::new(
            400,
            "InvalidResourceName",
            format!("'{id}' is not a transaction id"),
        )),
    }
}

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

async fn create_proposal(
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

async fn list_proposals(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    let v: Vec<Value> = w.proposals.iter().map(|(id, p)| p.to_json(id)).collect();
    ok(json!({ "value": v }), None)
}

async fn get_proposal(
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

async fn proposal_actions(
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
async fn proposal_post(
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

async fn get_ballot(
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

async fn submit_ballot(
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
                w.log.push(format!("proposal {} accepted", short(&id)));
            }
            ok(v, tx)
        }
        Err(e) => error(e),
    }
}

/// One TLS connection to a node (a CCF session): its remote address and a number unique
/// within the sandbox, given when the connection is accepted.
#[derive(Debug, Clone, Copy)]
pub struct ConnId {
    /// The client's address.
    pub remote: std::net::SocketAddr,
    /// Unique per connection.
    pub id: u64,
}

impl axum::extract::connect_info::Connected<std::net::SocketAddr> for ConnId {
    fn connect_info(remote: std::net::SocketAddr) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        ConnId {
            remote,
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// CCF `RpcFrontend::check_session_consistency` (`src/node/rpc/frontend.h`), run for every
/// request of every frontend once the node has a consensus: a session remembers the view of
/// its first request; once the node's view has changed, the request is answered `500
/// SessionConsistencyLost` (not executed: CCF drops its transaction) and the session is closed
/// (`terminate_session`). The next connection starts a new session.
async fn session_consistency(
    State(ctx): State<NodeCtx>,
    axum::extract::ConnectInfo(conn): axum::extract::ConnectInfo<ConnId>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let lost = {
        let w = ctx.shared.world();
        if w.nodes[ctx.slot].part_of_network() {
            let view = w.view;
            let mut sessions = ctx
                .shared
                .sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let key = (ctx.slot, conn.id);
            match sessions.get(&key).copied() {
                None => {
                    sessions.insert(key, (conn.id, view));
                    None
                }
                Some((session, started)) if started != view => {
                    sessions.remove(&key);
                    Some((session, started, view))
                }
                Some(_) => None,
            }
        } else {
            None
        }
    };
    match lost {
        Some((session, started, now)) => {
            let mut r = error(ApiError::new(
                500,
                "SessionConsistencyLost",
                format!(
                    "Potential loss of session consistency on session {session}. Started in view {started}, now in view {now}. Closing session."
                ),
            ));
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
        None => next.run(req).await,
    }
}

/// Record the request when the request log is enabled.
async fn log_request(
    State(shared): State<Arc<Shared>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    {
        let mut w = shared.world();
        if w.faults.reset_next > 0 {
            w.faults.reset_next -= 1;
            return reset_connection();
        }
        let at_ms = w.ms(Instant::now());
        if let Some(log) = w.request_log.as_mut() {
            let path = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            log.push(super::world::RequestRecord {
                at_ms,
                method: req.method().to_string(),
                path,
            });
        }
    }
    next.run(req).await
}

/// A response whose body fails before its first byte: the connection is torn down, which a
/// client sees as a reset (the request was not processed).
fn reset_connection() -> Response {
    struct Reset;
    impl axum::body::HttpBody for Reset {
        type Data = axum::body::Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected connection reset",
            ))))
        }
    }
    Response::new(axum::body::Body::new(Reset))
}

/// The router one node serves.
pub fn node_router(shared: Arc<Shared>, slot: usize) -> Router {
    let log = axum::middleware::from_fn_with_state(shared.clone(), log_request);
    let ctx = NodeCtx { shared, slot };
    let sessions = axum::middleware::from_fn_with_state(ctx.clone(), session_consistency);
    Router::new()
        .route("/node/network", get(network))
        .route("/node/network/nodes", get(nodes))
        .route(
            "/node/network/nodes/{id}",
            get(node_by_id).delete(delete_node),
        )
        .route("/node/network/removable_nodes", get(removable))
        .route("/node/version", get(version))
        .route("/node/state", get(state))
        .route("/node/ready/app", get(ready))
        .route("/node/ready/gov", get(ready))
        .route("/node/commit", get(commit))
        .route("/node/tx", get(tx))
        .route("/node/consensus", get(consensus))
        .route("/node/quotes/self", get(quote_self))
        .route("/node/attestations/self", get(quote_self))
        .route("/node/quotes", get(quotes))
        .route("/node/attestations", get(attestations))
        .route("/node/service/previous_identity", get(previous_identity))
        .route("/gov/service/members", get(members))
        .route("/gov/service/members/{id}", get(member))
        .route("/gov/service/nodes", get(gov_nodes))
        .route("/gov/service/nodes/{id}", get(gov_node))
        .route("/gov/service/join-policy", get(join_policy))
        .route("/gov/service/info", get(service_info))
        .route("/gov/service/constitution", get(constitution))
        .route("/gov/service/transactions/{id}", get(gov_tx))
        .route(
            "/gov/members/proposals:create",
            axum::routing::post(create_proposal),
        )
        .route("/gov/members/proposals", get(list_proposals))
        .route(
            "/gov/members/proposals/{id}",
            get(get_proposal).post(proposal_post),
        )
        .route("/gov/members/proposals/{id}/actions", get(proposal_actions))
        .route(
            "/gov/members/proposals/{id}/ballots/{member}",
            get(get_ballot).post(submit_ballot),
        )
        .fallback(|| async { error(not_found("Unknown path")) })
        .layer(sessions)
        .with_state(ctx)
        .layer(log)
}

/// State of the service gateway.
#[derive(Clone)]
pub struct GatewayCtx {
    shared: Arc<Shared>,
    client: reqwest::Client,
}

/// The service's stable address, as a load balancer in front of CCF nodes gives one: each
/// request is forwarded to the primary (or another node serving the service) and the answer
/// passed back unchanged.
pub fn gateway_router(
    shared: Arc<Shared>,
    service_cert: &crate::ccf::ServiceCert,
) -> Result<Router, reqwest::Error> {
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(service_cert.client_config())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    Ok(Router::new()
        .fallback(forward)
        .with_state(GatewayCtx { shared, client }))
}

async fn forward(
    State(g): State<GatewayCtx>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = {
        let w = g.shared.world();
        let serving = |n: &&SimNode| n.reachable() && n.endorsed();
        let primary = w
            .primary
            .as_ref()
            .and_then(|p| w.node_by_id(p))
            .map(|(_, n)| n)
            .filter(serving);
        primary
            .or_else(|| w.nodes.iter().find(serving))
            .map(SimNode::address)
    };
    let Some(target) = target else {
        return error(ApiError::new(
            503,
            "ServiceUnavailable",
            "no node of the service is available",
        ));
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut req = g
        .client
        .request(method, format!("https://{target}{path}"))
        .body(body);
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        req = req.header(header::CONTENT_TYPE, ct.clone());
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return error(ApiError::new(
                502,
                "BadGateway",
                format!("forwarding to {target} failed: {e}"),
            ));
        }
    };
    let status = resp.status();
    let mut out_headers = HeaderMap::new();
    for name in [
        header::CONTENT_TYPE.as_str(),
        "x-ms-ccf-transaction-id",
        header::RETRY_AFTER.as_str(),
        header::WWW_AUTHENTICATE.as_str(),
        header::LOCATION.as_str(),
    ] {
        if let Some(v) = resp.headers().get(name) {
            out_headers.insert(axum::http::HeaderName::from_static(name), v.clone());
        }
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    (status, out_headers, bytes).into_response()
}
