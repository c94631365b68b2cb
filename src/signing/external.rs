//! External signer commands, for member keys held in an HSM or a cloud key vault.
//!
//! Contract (the same JSON as CCF's `ccf_cose_sign1_prepare` / `ccf_cose_sign1_finish`):
//! the command gets `{"alg": "ES384", "cose_alg": -35, "value": "<base64 digest>"}` on stdin
//! and prints `{"value": "<base64 signature>"}` as its last line of stdout. The signature
//! may be raw `r‖s` (what Azure Key Vault returns) or DER; standard or URL-safe base64.
//! Environment: `NODEROLL_MEMBER_ID`, `NODEROLL_SIGN_ALG`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use tokio::io::AsyncWriteExt;

use super::algorithm::Algorithm;
use super::error::IdentityError;
use crate::env_vars;

/// A configured signer command.
#[derive(Debug, Clone)]
pub struct ExternalSigner {
    command: String,
    cwd: PathBuf,
    timeout: Duration,
}

impl ExternalSigner {
    /// `command` runs through `sh -c` in `cwd` (the plan file's directory).
    pub fn new(command: impl Into<String>, cwd: impl Into<PathBuf>) -> Self {
        ExternalSigner {
            command: command.into(),
            cwd: cwd.into(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Change the time allowed per signature (default 60 s).
    pub fn with_timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// The command line.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Ask the command to sign `digest`.
    pub async fn sign(
        &self,
        alg: Algorithm,
        member_id: &str,
        digest: &[u8],
    ) -> Result<Vec<u8>, IdentityError> {
        let failed = |detail: String| IdentityError::SignerFailed {
            command: self.command.clone(),
            detail,
        };
        let output_err = |detail: String| IdentityError::SignerOutput {
            command: self.command.clone(),
            detail,
        };
        let request = serde_json::json!({
            "alg": alg.name(),
            "cose_alg": alg.cose_id(),
            "value": base64::engine::general_purpose::STANDARD.encode(digest),
        });
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .current_dir(&self.cwd)
            .env(env_vars::SIGNER_MEMBER_ID, member_id)
            .env(env_vars::SIGNER_ALG, alg.name())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| failed(format!("cannot start it: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A signer that ignores stdin and exits early closes the pipe: not an error here.
            let _ = stdin.write_all(request.to_string().as_bytes()).await;
            let _ = stdin.shutdown().await;
        }
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| failed(format!("no answer within {}s", self.timeout.as_secs())))?
            .map_err(|e| failed(e.to_string()))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let excerpt: String = stderr.trim().chars().take(300).collect();
            return Err(failed(format!("{} ({excerpt})", out.status)));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .ok_or_else(|| output_err("nothing on stdout".into()))?;
        #[derive(serde::Deserialize)]
        struct Answer {
            value: String,
        }
        let answer: Answer = serde_json::from_str(line.trim()).map_err(|e| {
            output_err(format!(
                "last line is not {{\"value\": \"<base64>\"}} ({e})"
            ))
        })?;
        let bytes =
            decode_base64(&answer.value).ok_or_else(|| output_err("value is not base64".into()))?;
        to_raw_signature(alg, &bytes).ok_or_else(|| {
            output_err(format!(
                "value is {} bytes, neither a raw {}-byte {} signature nor a DER ECDSA signature",
                bytes.len(),
                alg.signature_len(),
                alg.name()
            ))
        })
    }
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let s = s.trim();
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s).ok())
}

fn to_raw_signature(alg: Algorithm, bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() == alg.signature_len() {
        return Some(bytes.to_vec());
    }
    match alg {
        Algorithm::ES256 => p256::ecdsa::Signature::from_der(bytes)
            .ok()
            .map(|s| s.to_bytes().to_vec()),
        Algorithm::ES384 => p384::ecdsa::Signature::from_der(bytes)
            .ok()
            .map(|s| s.to_bytes().to_vec()),
    }
}
