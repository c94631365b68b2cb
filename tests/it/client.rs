//! Client behaviour against an in-test HTTPS server: TLS trust and pinning, CCF errors,
//! retries, redirects, size limits and malformed answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use noderoll::ccf::{
    CcfClient, ClientOptions, ErrorKind, NodeAddr, Retry, RetryPolicy, ServiceCert,
};
use noderoll::wait::Cancel;
use serde_json::json;

use crate::common::*;

fn node_json(id: &str, primary: bool) -> serde_json::Value {
    json!({
        "node_id": id, "status": "Trusted", "primary": primary,
        "rpc_interfaces": {"primary_rpc_interface": {"bind_address": "127.0.0.1:1", "published_address": "127.0.0.1:1"}},
        "node_data": null, "last_written": 3
    })
}

fn quick() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            unreachable_attempts: 6,
        },
        ..Default::default()
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    cert: ServiceCert,
    service: ServiceIdentity,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let service = ServiceIdentity::new();
    let path = dir.path().join("service_cert.pem");
    std::fs::write(&path, &service.cert_pem).unwrap();
    Fixture {
        cert: ServiceCert::load(&path).unwrap(),
        _dir: dir,
        service,
    }
}

fn client(f: &Fixture) -> CcfClient {
    CcfClient::new(&f.cert, quick(), Cancel::never()).unwrap()
}

fn version_router() -> Router {
    Router::new().route(
        "/node/version",
        get(|| async { axum::Json(json!({"ccf_version": "ccf-7.0.2", "quickjs_version": "2024-01-13", "unsafe": false})) }),
    )
}

#[tokio::test]
async fn trusts_a_node_endorsed_by_the_service_certificate() {
    let f = fixture();
    let server = TestServer::start(version_router(), &f.service.node_cert()).await;
    let v = client(&f).version(&server.addr).await.unwrap();
    assert_eq!(v.ccf_version, "ccf-7.0.2");
    assert!(!v.is_unsafe);
}

#[tokio::test]
async fn a_wrong_service_certificate_is_a_named_mismatch_and_never_retried() {
    let f = fixture();
    let other = ServiceIdentity::new();
    let server = TestServer::start(version_router(), &other.node_cert()).await;
    let c = client(&f);
    let e = c.version(&server.addr).await.unwrap_err();
    match e.kind.as_ref() {
        ErrorKind::ServiceCertMismatch { service_cert, .. } => {
            assert_eq!(service_cert, f.cert.path())
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert_eq!(e.retry(), Retry::Fatal);
    assert_eq!(
        c.requests_sent(),
        1,
        "a certificate mismatch must not be retried"
    );
    let text = e.to_string();
    assert!(
        text.contains("service certificate mismatch") && text.contains("service_cert.pem"),
        "{text}"
    );
}

#[tokio::test]
async fn a_joining_node_needs_its_certificate_pinned() {
    let f = fixture();
    let joining = self_signed_node_cert();
    let server = TestServer::start(version_router(), &joining).await;

    // The service trust refuses the self-signed (CA-flagged) node certificate, explaining why.
    let e = client(&f).version(&server.addr).await.unwrap_err();
    assert!(e.to_string().contains("self-signed"), "{e}");

    // Pinning its SHA-256 works ...
    let pinned = CcfClient::pinned(
        noderoll::ccf::Pin::Certificate(joining.der_sha256()),
        quick(),
        Cancel::never(),
    )
    .unwrap();
    assert_eq!(
        pinned.version(&server.addr).await.unwrap().ccf_version,
        "ccf-7.0.2"
    );

    // ... so does pinning its node id (the SHA-256 of its public key) ...
    let pin = noderoll::ccf::Pin::node_id(&joining.node_id()).unwrap();
    let by_id = CcfClient::pinned(pin, quick(), Cancel::never()).unwrap();
    assert_eq!(
        by_id.version(&server.addr).await.unwrap().ccf_version,
        "ccf-7.0.2"
    );
    let other = noderoll::ccf::Pin::node_id(&"e".repeat(64)).unwrap();
    let e = CcfClient::pinned(other, quick(), Cancel::never())
        .unwrap()
        .version(&server.addr)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("node id eeee"), "{e}");

    // ... and a different pin is refused.
    let wrong = CcfClient::pinned(
        noderoll::ccf::Pin::Certificate([7u8; 32]),
        quick(),
        Cancel::never(),
    )
    .unwrap();
    let e = wrong.version(&server.addr).await.unwrap_err();
    assert!(
        matches!(*e.kind, ErrorKind::PinnedCertMismatch { .. }),
        "{e:?}"
    );
    assert_eq!(wrong.requests_sent(), 1);
}

#[tokio::test]
async fn ccf_error_bodies_are_kept_with_status_method_and_url() {
    let f = fixture();
    let router = Router::new().route(
        "/node/network/nodes/{id}",
        axum::routing::delete(|| async {
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": {"code": "NodeNotRetiredCommitted", "message": "Node is not completely retired"}})),
            )
        }),
    );
    let server = TestServer::start(router, &f.service.node_cert()).await;
    let e = client(&f)
        .delete_node(&server.addr, &"b".repeat(64))
        .await
        .unwrap_err();
    assert!(e.is(400, "NodeNotRetiredCommitted"));
    assert_eq!(e.message(), Some("Node is not completely retired"));
    assert_eq!(e.method, "DELETE");
    assert!(
        e.url
            .ends_with(&format!("/node/network/nodes/{}", "b".repeat(64))),
        "{}",
        e.url
    );
    assert_eq!(e.retry(), Retry::Fatal);
}

#[tokio::test]
async fn transient_503s_are_retried_until_success() {
    let f = fixture();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let router = Router::new().route(
        "/node/commit",
        get(move || {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": {"code": "ServiceUnavailable", "message": "no primary"}}))).into_response()
                } else {
                    axum::Json(json!({"transaction_id": "4.42"})).into_response()
                }
            }
        }),
    );
    let server = TestServer::start(router, &f.service.node_cert()).await;
    let c = client(&f);
    assert_eq!(
        c.commit(&server.addr)
            .await
            .unwrap()
            .transaction_id
            .to_string(),
        "4.42"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(c.requests_sent(), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let f = fixture();
    let router = Router::new().route(
        "/node/commit",
        get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
    );
    let server = TestServer::start(router, &f.service.node_cert()).await;
    let c = client(&f);
    let e = c.commit(&server.addr).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(c.requests_sent(), 4, "max_attempts is 4");
}

#[tokio::test]
async fn primary_endpoint_accepts_json_or_a_308_redirect() {
    let f = fixture();
    let id = "c".repeat(64);
    let node = node_json(&id, true);
    let n2 = node.clone();
    let redirect_router = Router::new()
        .route(
            "/node/network/nodes/primary",
            get(move || {
                let id = "c".repeat(64);
                async move {
                    (
                        StatusCode::PERMANENT_REDIRECT,
                        [(header::LOCATION, format!("/node/network/nodes/{id}"))],
                    )
                }
            }),
        )
        .route(
            "/node/network/nodes/{id}",
            get(move || async move { axum::Json(n2) }),
        );
    let json_router = Router::new().route(
        "/node/network/nodes/primary",
        get(move || async move { axum::Json(node) }),
    );
    let a = TestServer::start(redirect_router, &f.service.node_cert()).await;
    let b = TestServer::start(json_router, &f.service.node_cert()).await;
    let c = client(&f);
    assert_eq!(c.primary(&a.addr).await.unwrap().node_id, id);
    assert_eq!(c.primary(&b.addr).await.unwrap().node_id, id);
}

#[tokio::test]
async fn redirects_to_another_node_are_verified_against_the_service_certificate() {
    let f = fixture();
    let impostor = ServiceIdentity::new();
    let bad = TestServer::start(version_router(), &impostor.node_cert()).await;
    let target = format!("https://127.0.0.1:{}/node/version", bad.addr.port());
    let router = Router::new().route(
        "/node/version",
        get(move || async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]) }),
    );
    let front = TestServer::start(router, &f.service.node_cert()).await;
    let e = client(&f).version(&front.addr).await.unwrap_err();
    assert!(
        matches!(*e.kind, ErrorKind::ServiceCertMismatch { .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_redirect_loop_is_reported() {
    let f = fixture();
    let router = Router::new().route(
        "/node/version",
        get(|| async {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, "/node/version")],
            )
        }),
    );
    let server = TestServer::start(router, &f.service.node_cert()).await;
    let e = client(&f).version(&server.addr).await.unwrap_err();
    assert_eq!(*e.kind, ErrorKind::TooManyRedirects);
    assert!(e.to_string().contains("redirect"));
}

#[tokio::test]
async fn enormous_bodies_are_refused() {
    let f = fixture();
    let router = Router::new().route(
        "/node/version",
        get(|| async { "x".repeat(5 * 1024 * 1024) }),
    );
    let server = TestServer::start(router, &f.service.node_cert()).await;
    let e = client(&f).version(&server.addr).await.unwrap_err();
    assert!(matches!(*e.kind, ErrorKind::BodyTooLarge { .. }), "{e:?}");
}

#[tokio::test]
async fn html_and_missing_fields_are_clear_decode_errors() {
    let f = fixture();
    let router = Router::new()
        .route(
            "/node/version",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><body>It works!</body></html>",
                )
            }),
        )
        .route(
            "/node/state",
            get(|| async { axum::Json(json!({"state": "PartOfNetwork"})) }),
        );
    let server = TestServer::start(router, &f.service.node_cert()).await;
    let c = client(&f);
    let e = c.version(&server.addr).await.unwrap_err();
    let t = e.to_string();
    assert!(
        t.contains("not JSON") && t.contains("It works!") && t.contains("/node/version"),
        "{t}"
    );
    let e = c.state(&server.addr).await.unwrap_err();
    let t = e.to_string();
    assert!(t.contains("node_id") && t.contains("/node/state"), "{t}");
}

#[tokio::test]
async fn unreachable_nodes_are_transient_connect_errors() {
    let f = fixture();
    let c = client(&f);
    let addr = NodeAddr::new("127.0.0.1", closed_port());
    let e = c.version(&addr).await.unwrap_err();
    assert!(e.is_unreachable(), "{e:?}");
    assert!(matches!(e.retry(), Retry::Transient(_)));
    assert_eq!(c.requests_sent(), 4);
}

#[tokio::test]
async fn cancellation_stops_a_retry_back_off_at_once() {
    let f = fixture();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let router = Router::new().route(
        "/node/commit",
        get(move || {
            c2.fetch_add(1, Ordering::SeqCst);
            async { StatusCode::SERVICE_UNAVAILABLE }
        }),
    );
    let server = TestServer::start(router, &f.service.node_cert()).await;
    let (handle, cancel) = Cancel::new();
    let slow = ClientOptions {
        retry: RetryPolicy {
            max_attempts: 100,
            min_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(30),
            unreachable_attempts: 6,
        },
        ..Default::default()
    };
    let c = CcfClient::new(&f.cert, slow, cancel).unwrap();
    let addr = server.addr.clone();
    let task = tokio::spawn(async move { c.commit(&addr).await });
    // Poll (bounded) until the first attempt was answered; the client is then in its 30 s back-off.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while calls.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first attempt never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handle.cancel();
    let r = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("cancel must end the back-off")
        .unwrap();
    assert_eq!(r.unwrap_err().status(), Some(503));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_for_throttling() {
    let f = fixture();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let router = Router::new().route(
        "/node/commit",
        get(move |_h: HeaderMap| {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response()
                } else {
                    axum::Json(json!({"transaction_id": "1.1"})).into_response()
                }
            }
        }),
    );
    let server = TestServer::start(router, &f.service.node_cert()).await;
    let start = std::time::Instant::now();
    client(&f).commit(&server.addr).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "the client must wait as long as Retry-After says"
    );
}

#[tokio::test]
async fn node_filters_are_sent_as_query_parameters() {
    let f = fixture();
    let router = Router::new().route(
        "/node/network/nodes",
        get(|q: axum::extract::RawQuery| async move {
            let q = q.0.unwrap_or_default();
            assert_eq!(q, "host=127.0.0.1&port=9000&status=Pending");
            axum::Json(json!({"nodes": []}))
        }),
    );
    let server = TestServer::start(router, &f.service.node_cert()).await;
    let filter = noderoll::ccf::NodeFilter {
        host: Some("127.0.0.1".into()),
        port: Some(9000),
        status: Some(noderoll::ccf::types::NodeStatus::Pending),
    };
    assert!(
        client(&f)
            .nodes(&server.addr, &filter)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn invalid_json_and_a_slow_drip_are_clear_errors() {
    let f = fixture();
    let router = Router::new()
        .route(
            "/node/version",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"ccf_version\": \"ccf-7.0.1\", ",
                )
            }),
        )
        .route(
            "/node/state",
            get(|| async {
                // One byte every 200 ms, forever: only the request timeout ends it.
                let drip = futures_util::stream::unfold((), |()| async {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Some((
                        Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b" ")),
                        (),
                    ))
                });
                axum::body::Body::from_stream(drip)
            }),
        );
    let server = TestServer::start(router, &f.service.node_cert()).await;
    let e = client(&f).version(&server.addr).await.unwrap_err();
    let t = e.to_string();
    assert!(t.contains("not JSON") && t.contains("/node/version"), "{t}");
    let opts = ClientOptions {
        request_timeout: Duration::from_secs(1),
        ..quick()
    };
    let slow = CcfClient::new(&f.cert, opts, Cancel::never()).unwrap();
    let started = std::time::Instant::now();
    let e = slow.state(&server.addr).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded by the request timeout and the retry limit"
    );
    let t = e.to_string();
    assert!(t.contains("/node/state") && t.contains("timeout"), "{t}");
}

#[tokio::test]
async fn a_snapshot_lookup_reads_where_it_is_and_never_downloads_it() {
    // CCF file_serving_handlers.h find_snapshot: 308 to /node/snapshot/{name}; 404
    // ResourceNotFound while none is committed; a bodiless 404 without SnapshotRead.
    use noderoll::ccf::SnapshotLookup;
    let f = fixture();
    let downloads = Arc::new(AtomicUsize::new(0));
    let d = downloads.clone();
    let found = Router::new()
        .route(
            "/node/snapshot",
            get(|| async {
                (
                    StatusCode::PERMANENT_REDIRECT,
                    [(
                        header::LOCATION,
                        "https://127.0.0.1:1/node/snapshot/snapshot_120_124.committed",
                    )],
                )
            }),
        )
        .route(
            "/node/snapshot/{name}",
            get(move || {
                d.fetch_add(1, Ordering::SeqCst);
                async { "gigabytes" }
            }),
        );
    let none_yet = Router::new().route(
        "/node/snapshot",
        get(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": {"code": "ResourceNotFound", "message": "This node has no committed snapshots since 100"}})),
            )
        }),
    );
    let not_served = Router::new().route("/node/snapshot", get(|| async { StatusCode::NOT_FOUND }));
    let c = client(&f);
    let a = TestServer::start(found, &f.service.node_cert()).await;
    assert_eq!(
        c.latest_snapshot(&a.addr, 100).await.unwrap(),
        SnapshotLookup::Found {
            name: "snapshot_120_124.committed".into(),
            seqno: 120
        }
    );
    assert_eq!(downloads.load(Ordering::SeqCst), 0);
    let b = TestServer::start(none_yet, &f.service.node_cert()).await;
    assert_eq!(
        c.latest_snapshot(&b.addr, 100).await.unwrap(),
        SnapshotLookup::NoneYet
    );
    let n = TestServer::start(not_served, &f.service.node_cert()).await;
    match c.latest_snapshot(&n.addr, 100).await.unwrap() {
        SnapshotLookup::NotServed(why) => assert!(why.contains("SnapshotRead"), "{why}"),
        other => panic!("{other:?}"),
    }
}
