//! A release's package: downloaded once into the state directory, its SHA-256 checked against
//! the manifest and, for the virtual platform, against the release's host data (a virtual
//! node's host data is the SHA-256 of its package). Nothing reaches the service before this.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::fetch::{FetchError, https_client};
use super::manifest::{Package, Release};
use crate::plan::spec::CodePlatform;

/// Why a package cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PackageError {
    /// Not downloadable.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Writing the cache.
    #[error("package cache {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not the manifest's.
    #[error("package {url} has SHA-256 {actual}, the channel says {expected}: refused")]
    Mismatch {
        /// Where it came from.
        url: String,
        /// The manifest's digest.
        expected: String,
        /// The download's.
        actual: String,
    },
    /// A virtual release whose host data is not its package's digest.
    #[error(
        "release {version}: host data {host_data} is not the SHA-256 of its package ({sha256}); a virtual node attests its package's digest, so nodes of it would never join: refused"
    )]
    HostData {
        /// Release version.
        version: String,
        /// Its host data.
        host_data: String,
        /// Its package digest.
        sha256: String,
    },
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut h = sha2::Sha256::new();
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

/// The verified package of `release`, if it has one: reused from `cache` when already there
/// and intact, else downloaded (HTTPS, verified against the system roots or `ca`).
pub(crate) async fn verify(
    release: &Release,
    cache: &Path,
    ca: Option<&Path>,
) -> Result<Option<PathBuf>, PackageError> {
    let Some(Package { url, sha256 }) = &release.package else {
        return Ok(None);
    };
    let expected = sha256.to_ascii_lowercase();
    if release.platform == CodePlatform::Virtual
        && !release.host_data.eq_ignore_ascii_case(&expected)
    {
        return Err(PackageError::HostData {
            version: release.ccf_version.clone(),
            host_data: release.host_data.clone(),
            sha256: expected,
        });
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PackageError::Io { path, source }
    };
    std::fs::create_dir_all(cache).map_err(io(cache))?;
    let file = cache.join(&expected);
    if file.exists() && sha256_file(&file).map_err(io(&file))? == expected {
        return Ok(Some(file));
    }
    let http = |detail: String| FetchError::Http {
        url: url.clone(),
        detail,
    };
    let mut resp = https_client(url, ca)?
        .get(url)
        .send()
        .await
        .map_err(|e| http(crate::error_chain::one_line(&e)))?;
    if !resp.status().is_success() {
        return Err(http(format!("answered {}", resp.status())).into());
    }
    let partial = cache.join(format!("{expected}.part"));
    let mut out = std::fs::File::create(&partial).map_err(io(&partial))?;
    let mut hasher = sha2::Sha256::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| http(crate::error_chain::one_line(&e)))?
    {
        hasher.update(&chunk);
        out.write_all(&chunk).map_err(io(&partial))?;
    }
    out.sync_all().map_err(io(&partial))?;
    let actual = hex::encode(hasher.finalize());
    if actual != expected {
        let _ = std::fs::remove_file(&partial);
        return Err(PackageError::Mismatch {
            url: url.clone(),
            expected,
            actual,
        });
    }
    std::fs::rename(&partial, &file).map_err(io(&file))?;
    Ok(Some(file))
}
