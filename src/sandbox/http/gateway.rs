//! The service gateway: the service's stable address, forwarding each request to a node
//! that serves the service, as a load balancer in front of CCF nodes does.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::{Shared, error};
use crate::sandbox::world::{ApiError, SimNode};

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
