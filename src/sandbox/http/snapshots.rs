//! CCF's snapshot endpoints (`src/node/rpc/file_serving_handlers.h`), as served by an
//! interface with the `SnapshotRead` operator feature enabled:
//!
//! * `GET|HEAD /node/snapshot?since=S` (`find_snapshot`): a backup that knows the primary
//!   redirects (308) to the primary's `/node/snapshot`; otherwise 308 to
//!   `/node/snapshot/{name}` of the latest committed snapshot at or after `S`, or `404
//!   ResourceNotFound "This node has no committed snapshots since S"`;
//! * `GET|HEAD /node/snapshot/{name}` (`get_snapshot`): the file, named in
//!   `x-ms-ccf-snapshot-name`, or `404 ResourceNotFound`.
//!
//! Without `SnapshotRead` on the interface (fault `snapshot_read_off`) both answer a bodiless
//! 404 (`src/node/rpc/frontend.h`, `check_uri_allowed`). The gating, the backup → primary
//! redirect and `x-ms-ccf-snapshot-name` are newer CCF's.
//!
//! CCF 6.x (world flag `snapshots_6x`) serves both in `src/node/rpc/node_frontend.h`:
//! ungated, no redirect to the primary, each node finds only its own snapshots directory's
//! (only the primary writes snapshots, so a backup answers 404), strictly after `since`
//! (`idx > since`), and the redirect's `Location` is relative (`/node/snapshot/{name}`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{NodeCtx, error, gate, not_found};

fn redirect(location: String) -> Response {
    let mut r = StatusCode::PERMANENT_REDIRECT.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `find_snapshot`.
pub(super) async fn find(
    State(ctx): State<NodeCtx>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = gate(&ctx, false).await {
        return error(e);
    }
    let since: u64 = match q.get("since").map(|s| s.parse()) {
        None => 0,
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            return error(crate::sandbox::world::ApiError::new(
                400,
                "InvalidQueryParameterValue",
                "Invalid value for 'since'",
            ));
        }
    };
    let w = ctx.shared.world();
    if w.faults.snapshots_6x {
        return match w.own_committed_snapshot(ctx.slot, since) {
            Some(s) => redirect(format!("/node/snapshot/{}", s.committed_name())),
            None => error(not_found(&format!(
                "This node has no committed snapshots since {since}"
            ))),
        };
    }
    if w.faults.snapshot_read_off {
        return StatusCode::NOT_FOUND.into_response();
    }
    let me = &w.nodes[ctx.slot];
    if let Some(p) = w.primary.as_deref().filter(|p| *p != me.node_id)
        && let Some((_, primary)) = w.node_by_id(p)
    {
        let mut location = format!("https://{}/node/snapshot", primary.address());
        if since != 0 {
            location += &format!("?since={since}");
        }
        return redirect(location);
    }
    match w.latest_committed_snapshot(since) {
        Some(s) => redirect(format!(
            "https://{}/node/snapshot/{}",
            me.address(),
            s.committed_name()
        )),
        None => error(not_found(&format!(
            "This node has no committed snapshots since {since}"
        ))),
    }
}

/// `get_snapshot`.
pub(super) async fn get(State(ctx): State<NodeCtx>, Path(name): Path<String>) -> Response {
    if let Err(e) = gate(&ctx, true).await {
        return error(e);
    }
    let w = ctx.shared.world();
    let v6 = w.faults.snapshots_6x;
    if w.faults.snapshot_read_off && !v6 {
        return StatusCode::NOT_FOUND.into_response();
    }
    let me = &w.nodes[ctx.slot].node_id;
    let found = w
        .committed_snapshot(&name)
        .filter(|s| !v6 || s.by.as_ref().is_none_or(|b| b == me));
    let Some(s) = found else {
        return error(not_found(&format!(
            "This node does not have a snapshot named {name}"
        )));
    };
    // A stand-in for the key-value store at that seqno.
    let body = format!("noderoll sandbox snapshot at seqno {}\n", s.seqno);
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if !v6 && let Ok(v) = HeaderValue::from_str(&name) {
        r.headers_mut().insert("x-ms-ccf-snapshot-name", v);
    }
    r
}
