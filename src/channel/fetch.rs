//! Reading a channel manifest from a file or an `https://` URL. HTTPS is verified against the
//! system's roots, or only against `--ca` when given; never unverified.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest manifest accepted.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// A local file.
    #[error("cannot read channel manifest {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not HTTPS.
    #[error("channel {0}: use https:// (or a local file path)")]
    NotHttps(String),
    /// The CA file.
    #[error("channel CA file {}: {detail}", .path.display())]
    Ca {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The request.
    #[error("channel {url}: {detail}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
}

/// The manifest text and where it came from.
pub(crate) async fn fetch(source: &str, ca: Option<&Path>) -> Result<String, FetchError> {
    if source.starts_with("http://") {
        return Err(FetchError::NotHttps(source.into()));
    }
    if !source.starts_with("https://") {
        let path = PathBuf::from(source);
        return std::fs::read_to_string(&path).map_err(|source| FetchError::Read { path, source });
    }
    let http = |detail: String| FetchError::Http {
        url: source.into(),
        detail,
    };
    let client = https_client(source, ca)?;
    let resp = client
        .get(source)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| http(crate::error_chain::one_line(&e)))?;
    if !resp.status().is_success() {
        return Err(http(format!("answered {}", resp.status())));
    }
    if resp
        .content_length()
        .is_some_and(|l| l as usize > MAX_BYTES)
    {
        return Err(http(format!("larger than {MAX_BYTES} bytes")));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| http(crate::error_chain::one_line(&e)))?;
    if body.len() > MAX_BYTES {
        return Err(http(format!("larger than {MAX_BYTES} bytes")));
    }
    String::from_utf8(body.to_vec()).map_err(|_| http("not UTF-8 text".into()))
}

/// An HTTPS client trusting the system's roots, or only `ca` when given.
pub(crate) fn https_client(url: &str, ca: Option<&Path>) -> Result<reqwest::Client, FetchError> {
    crate::ccf::tls::ensure_crypto_provider();
    let http = |detail: String| FetchError::Http {
        url: url.into(),
        detail,
    };
    let roots: Vec<reqwest::Certificate> = match ca {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| FetchError::Ca {
                path: path.into(),
                detail: e.to_string(),
            })?;
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| FetchError::Ca {
                path: path.into(),
                detail: format!("not PEM certificates: {e}"),
            })?
        }
        None => rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .filter_map(|c| reqwest::Certificate::from_der(c.as_ref()).ok())
            .collect(),
    };
    if roots.is_empty() {
        return Err(http(
            "no trusted root certificates found on this system; pass --ca FILE".into(),
        ));
    }
    let client = reqwest::Client::builder()
        .tls_certs_only(roots)
        // Packages can be large; a manifest request sets its own, shorter timeout.
        .timeout(Duration::from_secs(30 * 60))
        .build()
        .map_err(|e| http(e.to_string()))?;
    Ok(client)
}
