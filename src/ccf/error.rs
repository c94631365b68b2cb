//! The client's error type: every failure carries the request (method, URL, node) and, for
//! HTTP errors, CCF's OData error body. [`ClientError::retry`] is the single place that decides
//! what is worth retrying.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The service answered with a non-success status.
    Http {
        /// HTTP status code.
        status: u16,
        /// `error.code` from CCF's OData body (e.g. `ProposalReplay`), if the body had one.
        code: Option<String>,
        /// `error.message`, or the start of a non-OData body.
        message: String,
        /// `Retry-After`, when the service sent one (429/503).
        retry_after: Option<Duration>,
    },
    /// The node's TLS certificate is not endorsed by the configured service certificate.
    ServiceCertMismatch {
        /// The service certificate file that was trusted.
        service_cert: PathBuf,
        /// What the TLS layer said.
        detail: String,
    },
    /// The node's TLS certificate is not the pinned identity.
    PinnedCertMismatch {
        /// What was pinned.
        expected: String,
        /// What the TLS layer said.
        detail: String,
    },
    /// Another TLS failure (handshake, protocol, alert).
    Tls(String),
    /// The TCP connection could not be made or was reset.
    Connect(String),
    /// The host name does not resolve (no such host): the name is wrong, or not published
    /// yet; asking again at once will not change it. A resolver that could not answer
    /// (`Temporary failure in name resolution`) is a [`ErrorKind::Connect`] instead.
    Unresolved {
        /// The host name that did not resolve.
        host: String,
        /// What the resolver said.
        detail: String,
    },
    /// No complete answer within the request timeout.
    Timeout,
    /// The service redirected too often (a loop).
    TooManyRedirects,
    /// The body was larger than the client accepts.
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body was not what the endpoint returns (bad JSON, missing field, wrong type).
    Decode(String),
    /// The run was cancelled before the request could complete.
    Cancelled,
}

/// A failed request, with where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    /// HTTP method.
    pub method: String,
    /// Full URL requested.
    pub url: String,
    /// What happened (boxed: errors travel by value through every layer).
    pub kind: Box<ErrorKind>,
}

impl std::error::Error for ClientError {}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let req = format!("{} {}", self.method, self.url);
        match self.kind.as_ref() {
            ErrorKind::Http {
                status,
                code,
                message,
                ..
            } => match code {
                Some(code) => write!(f, "{req}: {status} {code}: {message}"),
                None if message.is_empty() => write!(f, "{req}: HTTP {status}"),
                None => write!(f, "{req}: HTTP {status}: {message}"),
            },
            ErrorKind::ServiceCertMismatch {
                service_cert,
                detail,
            } => write!(
                f,
                "{req}: service certificate mismatch: the node's TLS certificate is not endorsed by {} ({detail}); \
                 check that the file is this service's current service certificate (GET /node/network returns it)",
                service_cert.display()
            ),
            ErrorKind::PinnedCertMismatch { expected, detail } => {
                write!(
                    f,
                    "{req}: node certificate mismatch: expected {expected} ({detail})"
                )
            }
            ErrorKind::Tls(d) => write!(f, "{req}: TLS failure: {d}"),
            ErrorKind::Connect(d) => write!(f, "{req}: cannot connect: {d}"),
            ErrorKind::Unresolved { host, detail } => write!(
                f,
                "{req}: the host name {host} does not resolve ({detail}); check the name"
            ),
            ErrorKind::Timeout => write!(f, "{req}: no answer within the request timeout"),
            ErrorKind::TooManyRedirects => {
                write!(f, "{req}: too many redirects (a redirect loop?)")
            }
            ErrorKind::BodyTooLarge { limit } => {
                write!(f, "{req}: response body larger than {limit} bytes")
            }
            ErrorKind::Decode(d) => write!(f, "{req}: unexpected response: {d}"),
            ErrorKind::Cancelled => write!(f, "{req}: cancelled"),
        }
    }
}

/// What to do about a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try again, after at least this long if the service said so.
    Transient(Option<Duration>),
    /// Retrying cannot help.
    Fatal,
}

impl ClientError {
    /// A failed `method url`.
    pub fn new(method: impl Into<String>, url: impl Into<String>, kind: ErrorKind) -> Self {
        ClientError {
            method: method.into(),
            url: url.into(),
            kind: Box::new(kind),
        }
    }

    /// The HTTP status, if the service answered.
    pub fn status(&self) -> Option<u16> {
        match self.kind.as_ref() {
            ErrorKind::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// CCF's `error.code`, if the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self.kind.as_ref() {
            ErrorKind::Http { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// CCF's `error.message` (or body text) for HTTP errors.
    pub fn message(&self) -> Option<&str> {
        match self.kind.as_ref() {
            ErrorKind::Http { message, .. } => Some(message),
            _ => None,
        }
    }

    /// True if the answer was `status` with CCF error code `code`.
    pub fn is(&self, status: u16, code: &str) -> bool {
        self.status() == Some(status) && self.code() == Some(code)
    }

    /// Whether retrying the same request can succeed.
    ///
    /// Transient: the node could not be reached or dropped the connection (nodes restart,
    /// elections move the primary), timeouts, 502/503/504 (CCF answers 503 while it has no
    /// primary or cannot forward), 429 (throttled; honour `Retry-After`), 408, and CCF's two
    /// 500s that describe the moment rather than the request: `SessionConsistencyLost` (the
    /// first request on a TLS session opened before a view change; CCF closes the session
    /// and did not execute the request, `src/node/rpc/frontend.h`,
    /// `check_session_consistency`) and `InternalError "Primary unknown"` (an election in
    /// progress, `node_frontend.h`, `/network/nodes/primary`).
    /// Fatal: a host name that does not resolve (no such host: retrying does not publish
    /// it), certificate and other TLS failures (a wrong certificate stays wrong), every
    /// other 4xx (the request itself is wrong), every other 500 (`InternalError` is what CCF
    /// answers when a proposal's `apply()` or `resolve()` threw, which must not be
    /// resubmitted blindly), other 5xx, redirect loops, oversized or undecodable bodies.
    pub fn retry(&self) -> Retry {
        if self.is_session_lost() {
            return Retry::Transient(Some(Duration::ZERO));
        }
        match self.kind.as_ref() {
            ErrorKind::Connect(_) | ErrorKind::Timeout => Retry::Transient(None),
            ErrorKind::Http {
                status,
                retry_after,
                code,
                message,
            } => match status {
                408 | 502 | 503 | 504 => Retry::Transient(*retry_after),
                429 => Retry::Transient(Some(retry_after.unwrap_or(Duration::from_secs(1)))),
                500 if code.as_deref() == Some("InternalError")
                    && message.starts_with("Primary unknown") =>
                {
                    Retry::Transient(*retry_after)
                }
                _ => Retry::Fatal,
            },
            ErrorKind::Unresolved { .. }
            | ErrorKind::ServiceCertMismatch { .. }
            | ErrorKind::PinnedCertMismatch { .. }
            | ErrorKind::Tls(_)
            | ErrorKind::TooManyRedirects
            | ErrorKind::BodyTooLarge { .. }
            | ErrorKind::Decode(_)
            | ErrorKind::Cancelled => Retry::Fatal,
        }
    }

    /// `500 SessionConsistencyLost`: the TLS session was opened before a view change and CCF
    /// closed it without executing the request (a write so answered was not applied). The
    /// same request on a new connection is the remedy.
    pub fn is_session_lost(&self) -> bool {
        self.is(500, "SessionConsistencyLost")
    }

    /// Whether nothing listens or answers at the address (refused, or no answer in time):
    /// a stopped node rather than a busy one or a dropped connection.
    pub fn is_absent(&self) -> bool {
        match self.kind.as_ref() {
            ErrorKind::Connect(d) => d.to_ascii_lowercase().contains("refused"),
            ErrorKind::Timeout => true,
            _ => false,
        }
    }

    /// Whether another node, or a later look, may answer where this request failed: a
    /// transient failure, or a node not reached at all (a name that does not resolve is final
    /// for the request, not for the service: its other nodes may answer).
    pub fn another_may_answer(&self) -> bool {
        self.is_unreachable() || matches!(self.retry(), Retry::Transient(_))
    }

    /// Whether this is a transport-level failure (the node did not answer at all), a name
    /// that does not resolve included: callers that know other nodes ask the next one.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            *self.kind,
            ErrorKind::Connect(_) | ErrorKind::Timeout | ErrorKind::Unresolved { .. }
        )
    }
}

#[derive(Deserialize)]
struct ODataBody {
    error: ODataError,
}

#[derive(Deserialize)]
struct ODataError {
    code: String,
    message: String,
}

/// Parse CCF's `{"error": {"code", "message"}}`; anything else becomes a short text excerpt.
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    if let Ok(b) = serde_json::from_slice::<ODataBody>(body) {
        return (Some(b.error.code), b.error.message);
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let excerpt: String = text.chars().take(200).collect();
    let excerpt = if text.chars().count() > 200 {
        format!("{excerpt}…")
    } else {
        excerpt
    };
    (None, excerpt)
}

/// Parse a `Retry-After` header given in seconds (CCF and proxies use the seconds form).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(300)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry_after: Option<Duration>) -> ClientError {
        ClientError {
            method: "GET".into(),
            url: "https://n:1/x".into(),
            kind: Box::new(ErrorKind::Http {
                status,
                code: None,
                message: String::new(),
                retry_after,
            }),
        }
    }

    fn coded(status: u16, code: &str, message: &str) -> ClientError {
        other(ErrorKind::Http {
            status,
            code: Some(code.into()),
            message: message.into(),
            retry_after: None,
        })
    }

    fn other(kind: ErrorKind) -> ClientError {
        ClientError::new("GET", "https://n:1/x", kind)
    }

    #[test]
    fn retry_classification_table() {
        let secs = |s| Some(Duration::from_secs(s));
        let cases: Vec<(ClientError, Retry)> = vec![
            (
                other(ErrorKind::Connect("connection reset by peer".into())),
                Retry::Transient(None),
            ),
            (
                other(ErrorKind::Connect("connection refused".into())),
                Retry::Transient(None),
            ),
            (other(ErrorKind::Timeout), Retry::Transient(None)),
            (
                other(ErrorKind::Unresolved {
                    host: "no-such-host.invalid".into(),
                    detail: "Name or service not known".into(),
                }),
                Retry::Fatal,
            ),
            (http(502, None), Retry::Transient(None)),
            (http(503, None), Retry::Transient(None)),
            (http(503, secs(2)), Retry::Transient(secs(2))),
            (http(504, None), Retry::Transient(None)),
            (http(408, None), Retry::Transient(None)),
            (http(429, secs(7)), Retry::Transient(secs(7))),
            (http(429, None), Retry::Transient(secs(1))),
            (http(400, None), Retry::Fatal),
            (http(401, None), Retry::Fatal),
            (http(403, None), Retry::Fatal),
            (http(404, None), Retry::Fatal),
            (http(500, None), Retry::Fatal),
            (
                coded(
                    500,
                    "SessionConsistencyLost",
                    "Potential loss of session consistency on session 3. Started in view 2, now in view 3. Closing session.",
                ),
                Retry::Transient(Some(Duration::ZERO)),
            ),
            (
                coded(500, "InternalError", "Primary unknown"),
                Retry::Transient(None),
            ),
            (
                coded(
                    500,
                    "InternalError",
                    "Failed to apply(): Error: node is not Pending",
                ),
                Retry::Fatal,
            ),
            (http(501, None), Retry::Fatal),
            (
                other(ErrorKind::ServiceCertMismatch {
                    service_cert: "s.pem".into(),
                    detail: "BadSignature".into(),
                }),
                Retry::Fatal,
            ),
            (
                other(ErrorKind::PinnedCertMismatch {
                    expected: "node id ab".into(),
                    detail: "x".into(),
                }),
                Retry::Fatal,
            ),
            (other(ErrorKind::Tls("alert".into())), Retry::Fatal),
            (other(ErrorKind::TooManyRedirects), Retry::Fatal),
            (other(ErrorKind::BodyTooLarge { limit: 1 }), Retry::Fatal),
            (
                other(ErrorKind::Decode("missing field".into())),
                Retry::Fatal,
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(err.retry(), expected, "{err}");
        }
    }

    #[test]
    fn odata_and_plain_bodies() {
        let (code, msg) = parse_error_body(br#"{"error":{"code":"ProposalReplay","message":"Proposal submission replay, already exists as proposal ab"}}"#);
        assert_eq!(code.as_deref(), Some("ProposalReplay"));
        assert!(msg.ends_with("proposal ab"));
        let (code, msg) = parse_error_body(b"<html><body>Bad gateway</body></html>");
        assert_eq!(code, None);
        assert!(msg.starts_with("<html>"));
        let long = "x".repeat(1000);
        let (_, msg) = parse_error_body(long.as_bytes());
        assert!(msg.chars().count() <= 201);
    }

    #[test]
    fn mismatch_message_names_the_file() {
        let e = other(ErrorKind::ServiceCertMismatch {
            service_cert: "/etc/ccf/service_cert.pem".into(),
            detail: "BadSignature".into(),
        });
        let t = e.to_string();
        assert!(t.contains("service certificate mismatch"), "{t}");
        assert!(t.contains("/etc/ccf/service_cert.pem"), "{t}");
    }
}
