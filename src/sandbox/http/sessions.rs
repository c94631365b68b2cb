//! What runs around every request of a node: CCF's session consistency check (a TLS session
//! does not survive a view change), the request log, and injected connection resets.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;

use super::{NodeCtx, Shared, error};
use crate::sandbox::world::ApiError;

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
pub(super) async fn session_consistency(
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
pub(super) async fn log_request(
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
            log.push(crate::sandbox::world::RequestRecord {
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
