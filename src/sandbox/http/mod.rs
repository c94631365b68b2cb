//! The HTTPS API each simulated node serves: CCF's node endpoints and governance API
//! `2024-07-01`, with CCF's JSON field names, status codes and OData error bodies.
//!
//! Responses are built here with `json!`, independently of the client's types, so a field
//! name mistake cannot hide in both; `tests/it/sandbox_conformance.rs` validates them against
//! CCF's published OpenAPI schemas.
//!
//! This file holds what every endpoint shares (the state, the gates, the error and success
//! bodies) and the route table; the handlers are grouped by CCF API area: `node`
//! (`/node/*`), `quotes` (`/node/quotes`, `/node/attestations`), `gov_service`
//! (`/gov/service/*`, reads) and `gov_proposals` (`/gov/members/proposals*`, signed writes),
//! with the per-connection middleware in `sessions` and the service's stable address in
//! `gateway`.

mod gateway;
mod gov_proposals;
mod gov_service;
mod node;
mod quotes;
mod sessions;
mod snapshots;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

pub use gateway::{GatewayCtx, gateway_router};
pub use sessions::ConnId;

use crate::sandbox::world::{ApiError, World};

/// State shared by every node's server.
pub struct Shared {
    /// The simulated service.
    pub world: Mutex<World>,
    /// Service certificate PEM (replaced when renewed).
    pub service_cert_pem: Mutex<String>,
    /// Endorsed certificate PEM per node slot.
    pub endorsed_pems: Mutex<Vec<String>>,
    /// The certificate each node's listener presents, per slot.
    pub cert_slots: Mutex<Vec<Arc<crate::sandbox::pki::CertSlot>>>,
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
// A path for the governance files to import it by (a macro is otherwise visible only below
// its definition).
use gov_read;

/// The router one node serves.
pub fn node_router(shared: Arc<Shared>, slot: usize) -> Router {
    let log = axum::middleware::from_fn_with_state(shared.clone(), sessions::log_request);
    let ctx = NodeCtx { shared, slot };
    let sessions = axum::middleware::from_fn_with_state(ctx.clone(), sessions::session_consistency);
    Router::new()
        .route("/node/network", get(node::network))
        .route("/node/network/nodes", get(node::nodes))
        .route(
            "/node/network/nodes/{id}",
            get(node::node_by_id).delete(node::delete_node),
        )
        .route("/node/network/removable_nodes", get(node::removable))
        .route("/node/version", get(node::version))
        .route("/node/state", get(node::state))
        .route("/node/snapshot", get(snapshots::find).head(snapshots::find))
        .route(
            "/node/snapshot/{name}",
            get(snapshots::get).head(snapshots::get),
        )
        .route("/node/ready/app", get(node::ready))
        .route("/node/ready/gov", get(node::ready))
        .route("/node/commit", get(node::commit))
        .route("/node/tx", get(node::tx))
        .route("/node/consensus", get(node::consensus))
        .route("/node/quotes/self", get(quotes::quote_self))
        .route("/node/attestations/self", get(quotes::quote_self))
        .route("/node/quotes", get(quotes::quotes))
        .route("/node/attestations", get(quotes::attestations))
        .route(
            "/node/service/previous_identity",
            get(node::previous_identity),
        )
        .route("/gov/service/members", get(gov_service::members))
        .route("/gov/service/members/{id}", get(gov_service::member))
        .route("/gov/service/nodes", get(gov_service::gov_nodes))
        .route("/gov/service/nodes/{id}", get(gov_service::gov_node))
        .route("/gov/service/join-policy", get(gov_service::join_policy))
        .route("/gov/service/info", get(gov_service::service_info))
        .route("/gov/service/constitution", get(gov_service::constitution))
        .route("/gov/service/transactions/{id}", get(gov_service::gov_tx))
        .route(
            "/gov/members/proposals:create",
            axum::routing::post(gov_proposals::create_proposal),
        )
        .route("/gov/members/proposals", get(gov_proposals::list_proposals))
        .route(
            "/gov/members/proposals/{id}",
            get(gov_proposals::get_proposal).post(gov_proposals::proposal_post),
        )
        .route(
            "/gov/members/proposals/{id}/actions",
            get(gov_proposals::proposal_actions),
        )
        .route(
            "/gov/members/proposals/{id}/ballots/{member}",
            get(gov_proposals::get_ballot).post(gov_proposals::submit_ballot),
        )
        .fallback(|| async { error(not_found("Unknown path")) })
        .layer(sessions)
        .with_state(ctx)
        .layer(log)
}
