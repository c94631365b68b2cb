//! The governance API's service reads (`/gov/service/*`, API version `2024-07-01`): members,
//! nodes as `produce_node_description` describes them, the join policy, service info, the
//! constitution and transaction status.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::node::parse_txid;
use super::quotes::{ENDORSED_TCB_HEX, quote_raw};
use super::{NodeCtx, error, gov_gate, gov_read, not_found, ok};
use crate::sandbox::world::{ApiError, Platform, Status, World};

pub(super) async fn members(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let w = ctx.shared.world();
    let v: Vec<Value> = w.members.iter().map(member_json).collect();
    ok(json!({ "value": v }), None)
}

fn member_json(m: &crate::sandbox::world::MemberRec) -> Value {
    json!({"memberId": m.id, "status": if m.active { "Active" } else { "Accepted" }, "certificate": m.cert_pem,
           "memberData": null, "recoveryRole": "NonParticipant"})
}

pub(super) async fn member(
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
            .filter(|c| !c.is_empty())
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

pub(super) async fn gov_nodes(
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

pub(super) async fn gov_node(
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

pub(super) async fn join_policy(
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
                    "uvmEndorsements": uvm, "tcbVersions": jp.snp_tcb_versions}
        }),
        None,
    )
}

pub(super) async fn service_info(
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
            "creationTransactionId": format!("{}.1", crate::sandbox::world::GENESIS_VIEW),
            "serviceData": {},
            "configuration": {
                "recoveryThreshold": 1,
                "maximumNodeCertificateValidityDays": crate::sandbox::world::MAX_NODE_CERT_VALIDITY_DAYS,
                "maximumServiceCertificateValidityDays": 365,
                "recentCoseProposalsWindowSize": crate::sandbox::world::RECENT_PROPOSALS_WINDOW
            }
        }),
        None,
    )
}

pub(super) async fn constitution(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    gov_read!(ctx, q);
    let text = ctx.shared.world().constitution.clone();
    ([(header::CONTENT_TYPE, "text/javascript")], text).into_response()
}

pub(super) async fn gov_tx(
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
