//! The quotes nodes presented when they joined (`/node/quotes`, `/node/attestations`):
//! synthetic, but laid out where CCF and AMD put their fields.

use axum::extract::State;
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::{NodeCtx, error, gate, not_found, ok};
use crate::sandbox::world::{Platform, SimNode, Status, World};

/// The raw quote bytes: virtual nodes report JSON; SNP nodes an attestation report (1184
/// bytes) with REPORT_DATA at 0x50, MEASUREMENT at 0x90 and HOST_DATA at 0xC0, as AMD lays it
/// out.
pub(super) fn quote_raw(node: &SimNode) -> Vec<u8> {
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
pub(super) const ENDORSED_TCB_HEX: &str = "d315000000000004";

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
pub(super) async fn quote_self(State(ctx): State<NodeCtx>) -> Response {
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

pub(super) async fn quotes(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let w = ctx.shared.world();
    ok(json!({ "quotes": trusted_quotes(&w) }), None)
}

pub(super) async fn attestations(State(ctx): State<NodeCtx>) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let w = ctx.shared.world();
    ok(json!({ "attestations": trusted_quotes(&w) }), None)
}
