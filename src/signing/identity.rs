//! Member certificates, local keys (SEC1 with `EC PARAMETERS` as CCF's keygenerator writes
//! them, or PKCS#8), and the signer a member signs with.

use std::fmt;
use std::path::{Path, PathBuf};

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::algorithm::Algorithm;
use super::error::IdentityError;
use super::external::ExternalSigner;
use crate::ccf::tls::sha256_hex;

/// An ECDSA public key from a member certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// P-384.
    P384(p384::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// From `SubjectPublicKeyInfo` DER.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, String> {
        use p384::pkcs8::DecodePublicKey;
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P384(k));
        }
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(k));
        }
        Err("the public key is not ECDSA P-256 or P-384".into())
    }

    /// Algorithm implied by the curve.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::P256(_) => Algorithm::ES256,
            PublicKey::P384(_) => Algorithm::ES384,
        }
    }

    /// Verify a raw `r‖s` signature over a precomputed digest.
    pub fn verify_digest(&self, digest: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::P256(k) => p256::ecdsa::Signature::from_slice(sig)
                .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok()),
            PublicKey::P384(k) => p384::ecdsa::Signature::from_slice(sig)
                .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok()),
        }
    }
}

/// A member certificate; its SHA-256 fingerprint is the member id and the COSE `kid`.
#[derive(Debug, Clone)]
pub struct MemberCert {
    path: PathBuf,
    pem: String,
    member_id: String,
    public_key: PublicKey,
}

impl MemberCert {
    /// Load a PEM certificate file.
    pub fn load(path: &Path) -> Result<Self, IdentityError> {
        let pem = std::fs::read_to_string(path).map_err(|source| IdentityError::Read {
            path: path.into(),
            source,
        })?;
        Self::from_pem(&pem, path)
    }

    /// Parse PEM text (`origin` names it in errors).
    pub fn from_pem(pem: &str, origin: &Path) -> Result<Self, IdentityError> {
        use x509_cert::der::{Decode, Encode};
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
            IdentityError::NoCertificate {
                path: origin.into(),
            }
        })?;
        let cert =
            x509_cert::Certificate::from_der(&der).map_err(|e| IdentityError::BadCertificate {
                path: origin.into(),
                detail: format!("not a valid certificate: {e}"),
            })?;
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| IdentityError::BadCertificate {
                path: origin.into(),
                detail: e.to_string(),
            })?;
        let public_key =
            PublicKey::from_spki_der(&spki).map_err(|detail| IdentityError::BadCertificate {
                path: origin.into(),
                detail,
            })?;
        Ok(MemberCert {
            path: origin.into(),
            pem: pem.to_string(),
            member_id: sha256_hex(&der),
            public_key,
        })
    }

    /// The member id (lowercase hex SHA-256 of the DER).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// Where it came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// PEM text.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The certified public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
}

/// A private key held in memory. `Debug` never shows it.
pub enum LocalKey {
    /// P-256.
    P256(p256::ecdsa::SigningKey),
    /// P-384.
    P384(p384::ecdsa::SigningKey),
}

impl fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let curve = match self {
            LocalKey::P256(_) => "P-256",
            LocalKey::P384(_) => "P-384",
        };
        write!(f, "LocalKey({curve}, <redacted>)")
    }
}

impl LocalKey {
    /// Load a PEM key file.
    pub fn load(path: &Path) -> Result<Self, IdentityError> {
        let pem = std::fs::read(path).map_err(|source| IdentityError::Read {
            path: path.into(),
            source,
        })?;
        warn_if_readable_by_others(path);
        Self::from_pem(&pem, path)
    }

    /// Parse PEM bytes: SEC1 (`EC PRIVATE KEY`, an `EC PARAMETERS` block before it is skipped)
    /// or PKCS#8 (`PRIVATE KEY`).
    pub fn from_pem(pem: &[u8], origin: &Path) -> Result<Self, IdentityError> {
        let text = String::from_utf8_lossy(pem);
        if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(IdentityError::EncryptedKey {
                path: origin.into(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(pem).map_err(|_| IdentityError::NoKey {
            path: origin.into(),
        })?;
        let unsupported = |detail: &str| IdentityError::UnsupportedKey {
            path: origin.into(),
            detail: detail.into(),
        };
        match key {
            PrivateKeyDer::Sec1(k) => {
                let der = k.secret_sec1_der();
                if let Ok(sk) = p384::SecretKey::from_sec1_der(der) {
                    return Ok(LocalKey::P384(sk.into()));
                }
                if let Ok(sk) = p256::SecretKey::from_sec1_der(der) {
                    return Ok(LocalKey::P256(sk.into()));
                }
                Err(unsupported("an EC key on an unsupported curve"))
            }
            PrivateKeyDer::Pkcs8(k) => {
                use p384::pkcs8::DecodePrivateKey;
                let der = k.secret_pkcs8_der();
                if let Ok(sk) = p384::SecretKey::from_pkcs8_der(der) {
                    return Ok(LocalKey::P384(sk.into()));
                }
                if let Ok(sk) = p256::SecretKey::from_pkcs8_der(der) {
                    return Ok(LocalKey::P256(sk.into()));
                }
                Err(unsupported(
                    "a PKCS#8 key that is not ECDSA P-256 or P-384 (RSA, Ed25519 or P-521?)",
                ))
            }
            PrivateKeyDer::Pkcs1(_) => Err(unsupported("an RSA key")),
            _ => Err(unsupported("an unknown key type")),
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            LocalKey::P256(k) => PublicKey::P256(*k.verifying_key()),
            LocalKey::P384(k) => PublicKey::P384(*k.verifying_key()),
        }
    }

    /// Sign a digest (RFC 6979 deterministic ECDSA), returning raw `r‖s`.
    pub fn sign_digest(&self, digest: &[u8]) -> Vec<u8> {
        // Both curves accept any digest length ≥ half the field size; the digests passed here
        // always match the curve, so failure is impossible in practice.
        match self {
            LocalKey::P256(k) => {
                let s: p256::ecdsa::Signature =
                    k.sign_prehash(digest).expect("digest length matches P-256");
                s.to_bytes().to_vec()
            }
            LocalKey::P384(k) => {
                let s: p384::ecdsa::Signature =
                    k.sign_prehash(digest).expect("digest length matches P-384");
                s.to_bytes().to_vec()
            }
        }
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            "private key {} is readable by group or others (mode {:o}); chmod 600 it",
            path.display(),
            m.permissions().mode() & 0o777
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

/// How a member's signatures are produced.
#[derive(Debug)]
pub enum Signer {
    /// A key file loaded into memory.
    Local(LocalKey),
    /// An external command (HSM, cloud key vault).
    External(ExternalSigner),
}

/// A member noderoll can sign governance requests for.
#[derive(Debug)]
pub struct Member {
    cert: MemberCert,
    signer: Signer,
}

impl Member {
    /// A member with a local key; fails unless the key belongs to the certificate.
    pub fn with_key(
        cert: MemberCert,
        key: LocalKey,
        key_path: &Path,
    ) -> Result<Self, IdentityError> {
        if key.public_key() != *cert.public_key() {
            return Err(IdentityError::KeyMismatch {
                key: key_path.into(),
                cert: cert.path().into(),
            });
        }
        Ok(Member {
            cert,
            signer: Signer::Local(key),
        })
    }

    /// A member whose key lives behind an external signer command.
    pub fn with_external(cert: MemberCert, signer: ExternalSigner) -> Self {
        Member {
            cert,
            signer: Signer::External(signer),
        }
    }

    /// Load `cert` and `key` files.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, IdentityError> {
        let c = MemberCert::load(cert)?;
        let k = LocalKey::load(key)?;
        Self::with_key(c, k, key)
    }

    /// The certificate.
    pub fn cert(&self) -> &MemberCert {
        &self.cert
    }

    /// Member id.
    pub fn id(&self) -> &str {
        self.cert.member_id()
    }

    /// Signing algorithm (from the certificate's curve).
    pub fn algorithm(&self) -> Algorithm {
        self.cert.public_key().algorithm()
    }

    /// Sign a digest of the to-be-signed bytes; raw `r‖s`. External signatures are checked
    /// against the certificate before use, so a misconfigured signer fails here, clearly,
    /// instead of as a 401 from the service.
    pub async fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, IdentityError> {
        match &self.signer {
            Signer::Local(k) => Ok(k.sign_digest(digest)),
            Signer::External(ext) => {
                let sig = ext.sign(self.algorithm(), self.id(), digest).await?;
                if !self.cert.public_key().verify_digest(digest, &sig) {
                    return Err(IdentityError::SignerWrongKey {
                        command: ext.command().to_string(),
                        cert: self.cert.path().into(),
                    });
                }
                Ok(sig)
            }
        }
    }
}
