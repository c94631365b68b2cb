//! TLS trust for talking to CCF nodes. Verification is never switched off: a client either
//! trusts exactly the service certificate (every node interface endorsed by the service), or
//! pins one node certificate by SHA-256 (a joining node still presenting its self-signed
//! certificate, which CCF marks as a CA and webpki therefore refuses as a leaf).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// Install the ring provider as the process default (reqwest's `rustls-no-provider` needs one).
/// Safe to call any number of times.
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Lowercase hex SHA-256 of some DER bytes (certificate fingerprints, member ids).
pub fn sha256_hex(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// A problem with a certificate file the user gave us.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file could not be read.
    #[error("cannot read certificate file {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no PEM certificate.
    #[error("{} holds no PEM certificate (expected a \"-----BEGIN CERTIFICATE-----\" block)", .path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The PEM was there but is not a valid X.509 certificate.
    #[error("{} is not a valid certificate: {detail}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

/// When the first certificate of `pem` stops being valid (its `notAfter`); None when `pem`
/// holds no certificate that parses.
pub(crate) fn cert_not_after(pem: &str) -> Option<jiff::Timestamp> {
    use x509_cert::der::Decode;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    let cert = x509_cert::Certificate::from_der(&der).ok()?;
    jiff::Timestamp::try_from(cert.tbs_certificate().validity().not_after.to_system_time()).ok()
}

/// The service certificate: the only TLS root a service client trusts.
#[derive(Clone)]
pub struct ServiceCert {
    path: PathBuf,
    der: CertificateDer<'static>,
    pem: String,
}

impl fmt::Debug for ServiceCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceCert")
            .field("path", &self.path)
            .field("sha256", &self.sha256())
            .finish()
    }
}

impl ServiceCert {
    /// Load from a PEM file.
    pub fn load(path: &Path) -> Result<Self, TrustError> {
        let pem = std::fs::read_to_string(path).map_err(|source| TrustError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_pem(&pem, path)
    }

    /// Parse PEM text; `origin` names where it came from in errors.
    pub fn from_pem(pem: &str, origin: &Path) -> Result<Self, TrustError> {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
            TrustError::NoCertificate {
                path: origin.to_path_buf(),
            }
        })?;
        // Make sure it parses as X.509 now, so a garbage PEM is reported as such and not as a
        // confusing handshake failure later.
        use x509_cert::der::Decode;
        let cert = x509_cert::Certificate::from_der(&der).map_err(|e| TrustError::Invalid {
            path: origin.to_path_buf(),
            detail: e.to_string(),
        })?;
        // A trust anchor's own dates are not checked in the handshake, so an expired copy
        // keeps working while the key is the service's; say so, since it usually means the
        // service renewed its certificate and this copy is stale.
        let not_after = cert.tbs_certificate().validity().not_after.to_system_time();
        if not_after < std::time::SystemTime::now() {
            let when = jiff::Timestamp::try_from(not_after)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| "an earlier date".into());
            tracing::warn!(
                "the service certificate {} expired on {when}; if the service renewed it, use the current one (service_certificate of GET /node/network)",
                origin.display()
            );
        }
        Ok(ServiceCert {
            path: origin.to_path_buf(),
            der,
            pem: pem.to_string(),
        })
    }

    /// Where it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// PEM text as loaded.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// SHA-256 of the DER (keys the journal per service).
    pub fn sha256(&self) -> String {
        sha256_hex(&self.der)
    }

    /// A rustls client config that trusts only this certificate.
    pub(crate) fn client_config(&self) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        // A service certificate that rustls refuses as a root is caught by `from_pem` in
        // practice; if not, the handshake fails with a mismatch naming the file.
        let _ = roots.add(self.der.clone());
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth()
    }
}

/// What a pinned connection accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// The certificate whose DER has this SHA-256 (e.g. a node's `nodecert.pem`).
    Certificate([u8; 32]),
    /// Any certificate for the public key whose SubjectPublicKeyInfo has this SHA-256: a CCF
    /// node id. The handshake proves the server holds that key, so this identifies the node
    /// itself, whichever of its certificates (self-signed or endorsed) it presents.
    NodeId([u8; 32]),
}

impl Pin {
    /// A node-id pin from its 64-hex form.
    pub fn node_id(hex_id: &str) -> Option<Pin> {
        let bytes: [u8; 32] = hex::decode(hex_id).ok()?.try_into().ok()?;
        Some(Pin::NodeId(bytes))
    }

    fn matches(&self, cert_der: &[u8]) -> bool {
        match self {
            Pin::Certificate(h) => <[u8; 32]>::from(Sha256::digest(cert_der)) == *h,
            Pin::NodeId(h) => {
                use x509_cert::der::{Decode, Encode};
                x509_cert::Certificate::from_der(cert_der)
                    .ok()
                    .and_then(|c| c.tbs_certificate().subject_public_key_info().to_der().ok())
                    .is_some_and(|spki| <[u8; 32]>::from(Sha256::digest(&spki)) == *h)
            }
        }
    }

    /// What is pinned, for messages.
    pub fn describe(&self) -> String {
        match self {
            Pin::Certificate(h) => format!("certificate SHA-256 {}", hex::encode(h)),
            Pin::NodeId(h) => format!("node id {}", hex::encode(h)),
        }
    }
}

/// Accepts exactly one server identity ([`Pin`]) and still checks that the server proves
/// possession of its key in the handshake.
#[derive(Debug)]
pub struct PinnedCertVerifier {
    pin: Pin,
    provider: Arc<CryptoProvider>,
}

impl PinnedCertVerifier {
    /// Accept only `pin`.
    pub fn new(pin: Pin) -> Self {
        PinnedCertVerifier {
            pin,
            provider: provider(),
        }
    }

    /// A rustls client config using this verifier.
    pub(crate) fn client_config(self) -> rustls::ClientConfig {
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .dangerous() // a custom verifier, not a disabled one: the pin is the trust anchor
            .with_custom_certificate_verifier(Arc::new(self))
            .with_no_client_auth()
    }
}

impl ServerCertVerifier for PinnedCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pin.matches(end_entity.as_ref()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Explain a certificate error from the service-certificate verifier in operator terms.
pub(crate) fn describe_cert_error(e: &CertificateError) -> String {
    match e {
        CertificateError::BadSignature | CertificateError::UnknownIssuer => {
            format!("{e:?}: signed by a different service identity")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "the certificate does not list the address used to reach the node (check the host name or IP)".into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the node's certificate has expired (renew it with set_node_certificate_validity)".into()
        }
        other => {
            let text = format!("{other:?}");
            // webpki's CaUsedAsEndEntity reaches us only as an opaque `Other`.
            if text.contains("CaUsedAsEndEntity") {
                "the node presents its own self-signed certificate: it is not trusted yet, or has not caught up".into()
            } else {
                text
            }
        }
    }
}
