//! CCF's node endpoints (`/node/*`, `src/node/rpc/node_frontend.h`): the network, the node
//! table, a node's own state and version, commits and transaction status, consensus details.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{NodeCtx, error, gate, is_hex64, not_found, ok};
use crate::sandbox::world::{ApiError, Status, World};

fn rpc_interfaces(addr: &str) -> Value {
    json!({"primary_rpc_interface": {
        "bind_address": addr,
        "published_address": addr,
        "app_protocol": "HTTP1",
        "max_open_sessions_soft": 1000,
        "max_open_sessions_hard": 1010,
        "endorsement": {"authority": "Service"},
        "enabled_operator_features": ["SnapshotRead"]
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

pub(super) async fn network(State(ctx): State<NodeCtx>) -> Response {
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
            "current_service_create_txid": format!("{}.1", crate::sandbox::world::GENESIS_VIEW),
        }),
        None,
    )
}

pub(super) async fn nodes(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
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

pub(super) async fn node_by_id(State(ctx): State<NodeCtx>, Path(id): Path<String>) -> Response {
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

pub(super) async fn delete_node(State(ctx): State<NodeCtx>, Path(id): Path<String>) -> Response {
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

pub(super) async fn removable(State(ctx): State<NodeCtx>) -> Response {
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

pub(super) async fn version(State(ctx): State<NodeCtx>) -> Response {
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

pub(super) async fn state(State(ctx): State<NodeCtx>) -> Response {
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
               "startup_seqno": n.startup_seqno, "stop_notice": false}),
        None,
    )
}

pub(super) async fn ready(State(ctx): State<NodeCtx>) -> Response {
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

pub(super) async fn commit(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let w = ctx.shared.world();
    ok(
        json!({"transaction_id": format!("{}.{}", w.view_of(w.commit_seqno), w.commit_seqno)}),
        None,
    )
}

pub(super) fn parse_txid(s: &str) -> Option<(u64, u64)> {
    let (v, n) = s.split_once('.')?;
    Some((v.parse().ok()?, n.parse().ok()?))
}

pub(super) async fn tx(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
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

pub(super) async fn consensus(State(ctx): State<NodeCtx>) -> Response {
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

pub(super) async fn previous_identity(State(ctx): State<NodeCtx>) -> Response {
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
