//! Sending one request: a single attempt, its errors classified, and the retries of transient
//! failures around it.

use std::sync::atomic::Ordering;

use backon::BackoffBuilder;
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::{CcfClient, MAX_SESSION_RETRIES, NodeAddr, Trust};
use crate::ccf::error::{ClientError, ErrorKind, Retry, parse_error_body, parse_retry_after};
use crate::ccf::tls::describe_cert_error;
use crate::ccf::types::TxId;

/// A successful raw response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status code (2xx).
    pub status: u16,
    /// Body bytes (size-limited).
    pub body: Vec<u8>,
    /// `x-ms-ccf-transaction-id`, if present and well-formed.
    pub txid: Option<TxId>,
}

impl CcfClient {
    pub(super) fn url(node: &NodeAddr, path_and_query: &str) -> String {
        format!("{}{}", node.base(), path_and_query)
    }

    /// One attempt, no retry.
    pub(super) async fn execute_once(
        &self,
        method: &Method,
        url: &str,
        body: Option<(&'static str, &[u8])>,
    ) -> Result<RawResponse, ClientError> {
        let err = |kind| ClientError::new(method.to_string(), url, kind);
        let mut req = self.inner.http.request(method.clone(), url);
        if let Some((content_type, bytes)) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes.to_vec());
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let mut resp = req.send().await.map_err(|e| err(self.map_transport(e)))?;
        let status = resp.status().as_u16();
        // Method, URL and status only: bodies carry signed governance requests.
        tracing::trace!(
            "{method} {url} -> {status} in {} ms",
            started.elapsed().as_millis()
        );
        let txid = resp
            .headers()
            .get("x-ms-ccf-transaction-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<TxId>().ok());
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let limit = self.inner.opts.max_body_bytes;
        if resp.content_length().is_some_and(|l| l as usize > limit) {
            return Err(err(ErrorKind::BodyTooLarge { limit }));
        }
        let mut buf = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| err(self.map_transport(e)))? {
            if buf.len() + chunk.len() > limit {
                return Err(err(ErrorKind::BodyTooLarge { limit }));
            }
            buf.extend_from_slice(&chunk);
        }
        if !(200..300).contains(&status) {
            let (code, message) = parse_error_body(&buf);
            return Err(err(ErrorKind::Http {
                status,
                code,
                message,
                retry_after,
            }));
        }
        Ok(RawResponse {
            status,
            body: buf,
            txid,
        })
    }

    pub(super) fn map_transport(&self, e: reqwest::Error) -> ErrorKind {
        if e.is_redirect() {
            return ErrorKind::TooManyRedirects;
        }
        if let Some(tls) = find_rustls_error(&e) {
            return match (tls, &self.inner.trust) {
                (rustls::Error::InvalidCertificate(ce), Trust::Service(path)) => match ce {
                    rustls::CertificateError::BadSignature
                    | rustls::CertificateError::UnknownIssuer
                    | rustls::CertificateError::BadEncoding => ErrorKind::ServiceCertMismatch {
                        service_cert: path.clone(),
                        detail: describe_cert_error(ce),
                    },
                    other => ErrorKind::Tls(describe_cert_error(other)),
                },
                (rustls::Error::InvalidCertificate(ce), Trust::Pinned(pin)) => {
                    ErrorKind::PinnedCertMismatch {
                        expected: pin.clone(),
                        detail: format!("{ce:?}"),
                    }
                }
                (other, _) => ErrorKind::Tls(other.to_string()),
            };
        }
        if e.is_timeout() {
            return ErrorKind::Timeout;
        }
        if let Some(detail) = name_not_found(&e) {
            let host = e.url().and_then(|u| u.host_str()).unwrap_or_default();
            return ErrorKind::Unresolved {
                host: host.to_string(),
                detail,
            };
        }
        ErrorKind::Connect(root_cause(&e))
    }

    /// Send with retries of transient failures. A `500 SessionConsistencyLost` (the
    /// connection predates a view change) is retried at once, up to
    /// [`MAX_SESSION_RETRIES`] times, outside the back-off budget.
    pub async fn request(
        &self,
        method: Method,
        node: &NodeAddr,
        path_and_query: &str,
        body: Option<(&'static str, &[u8])>,
    ) -> Result<RawResponse, ClientError> {
        let url = Self::url(node, path_and_query);
        let policy = &self.inner.opts.retry;
        let mut delays = backon::ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_attempts.saturating_sub(1))
            .with_jitter()
            .build();
        let mut unreachable = 0;
        let mut session_retries = 0;
        loop {
            if self.inner.cancel.is_cancelled() {
                return Err(ClientError::new(
                    method.to_string(),
                    url,
                    ErrorKind::Cancelled,
                ));
            }
            let err = match self.execute_once(&method, &url, body).await {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            // A session closed by a view change: the same request on a new connection, at
            // once and without spending the back-off (every pooled connection meets this
            // once after an election). Bounded: a node that keeps answering it is not well.
            if err.is_session_lost() && session_retries < MAX_SESSION_RETRIES {
                session_retries += 1;
                tracing::debug!(%err, "session closed by a view change, retrying on a new connection");
                continue;
            }
            let Retry::Transient(after) = err.retry() else {
                return Err(err);
            };
            if err.is_absent() {
                unreachable += 1;
                if unreachable >= policy.unreachable_attempts {
                    return Err(err);
                }
            }
            let Some(delay) = delays.next() else {
                return Err(err);
            };
            let delay = after.map_or(delay, |a| a.max(delay));
            tracing::debug!(%err, ?delay, "transient failure, retrying");
            if !self.inner.cancel.sleep(delay).await {
                return Err(err);
            }
        }
    }

    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        node: &NodeAddr,
        path: &str,
    ) -> Result<T, ClientError> {
        let r = self.request(Method::GET, node, path, None).await?;
        decode(&Self::url(node, path), "GET", &r.body)
    }

    /// Like `get_json` but 404 becomes `None`.
    pub(super) async fn get_json_opt<T: DeserializeOwned>(
        &self,
        node: &NodeAddr,
        path: &str,
    ) -> Result<Option<T>, ClientError> {
        match self.get_json(node, path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub(super) fn decode<T: DeserializeOwned>(
    url: &str,
    method: &str,
    body: &[u8],
) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
            format!("JSON does not match what this endpoint returns: {e}")
        } else {
            let (_, excerpt) = parse_error_body(body);
            format!("not JSON ({e}); body starts with {excerpt:?}")
        };
        ClientError::new(method, url, ErrorKind::Decode(what))
    })
}

/// Find a rustls error inside a reqwest error. `io::Error::source()` skips the error it wraps,
/// so the walk also looks through `io::Error::get_ref()`.
fn find_rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(t) = find_rustls_error(inner)
        {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// What the resolver said, when `e` is a host name that does not resolve (no such host).
/// A resolver that could not answer is not a missing name: it is left to be retried as a
/// connection failure.
fn name_not_found(e: &reqwest::Error) -> Option<String> {
    let detail = root_cause(e);
    (e.is_dns() && !resolver_unavailable(&detail)).then_some(detail)
}

/// Whether the resolver's message says it could not answer rather than that the name does
/// not exist: EAI_AGAIN, `Temporary failure in name resolution` (glibc) or `Try again`
/// (musl), as std's `failed to lookup address information: …` quotes `gai_strerror`.
fn resolver_unavailable(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("temporary failure") || d.contains("try again")
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        last = err.to_string();
        cur = err.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::resolver_unavailable;

    #[test]
    fn a_missing_name_is_told_from_a_resolver_that_could_not_answer() {
        for missing in [
            "failed to lookup address information: Name or service not known",
            "failed to lookup address information: Name does not resolve",
            "failed to lookup address information: No address associated with hostname",
        ] {
            assert!(!resolver_unavailable(missing), "{missing}");
        }
        for unavailable in [
            "failed to lookup address information: Temporary failure in name resolution",
            "failed to lookup address information: Try again",
        ] {
            assert!(resolver_unavailable(unavailable), "{unavailable}");
        }
    }
}
