//! Certificates and keys of the simulated service, made the way CCF makes them: a P-384
//! service CA ("CCF Service"), per-node P-384 keys with a self-signed, CA-flagged certificate
//! (what a joining node presents) and a service-endorsed one (presented once the node is
//! trusted and caught up), and member identities written as CCF's keygenerator.sh writes them
//! (SEC1 key with an `EC PARAMETERS` block, mode 0600).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PublicKeyData, SanType,
};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::ccf::tls::sha256_hex;

/// A failure to make or write key material.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Certificate generation failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    /// A file could not be written.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn pki_err(e: impl std::fmt::Display) -> PkiError {
    PkiError::Generate(e.to_string())
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certified(
    cert_der: CertificateDer<'static>,
    key: &KeyPair,
) -> Result<Arc<CertifiedKey>, PkiError> {
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signing = provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(pki_err)?;
    Ok(Arc::new(CertifiedKey::new(vec![cert_der], signing)))
}

/// The service identity (its key signs node certificates).
pub struct ServiceIdentity {
    /// Service certificate PEM.
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
    key_pkcs8: Vec<u8>,
}

/// `notBefore` = `from`, `notAfter` = `from` + `days` − 1 s: CCF's
/// `compute_cert_valid_to_string` (`src/crypto/certs.h`; RFC 5280's `notAfter` is inclusive),
/// reached from `transition_node_to_trusted` through `ccf.network.generateEndorsedCertificate`
/// (`src/js/extensions/ccf/network.cpp`, `js_network_generate_endorsed_certificate`) and
/// `create_endorsed_cert`.
pub(crate) fn set_validity(params: &mut CertificateParams, from: SystemTime, days: u64) {
    params.not_before = from.into();
    params.not_after =
        (from + Duration::from_secs(days * 24 * 3600) - Duration::from_secs(1)).into();
}

impl ServiceIdentity {
    /// A new service identity whose certificate is valid `days` from now (CCF:
    /// `initial_service_certificate_validity_days`, 1 unless configured; renewed by
    /// `set_service_certificate_validity`).
    pub fn generate(days: u64) -> Result<Self, PkiError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(pki_err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki_err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "CCF Service");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        set_validity(&mut params, SystemTime::now(), days);
        let cert = params.self_signed(&key).map_err(pki_err)?;
        Ok(ServiceIdentity {
            cert_pem: cert.pem(),
            key_pkcs8: key.serialize_der(),
            issuer: Issuer::new(params, key),
        })
    }

    /// A renewed service certificate: same key and name, new serial and validity (what
    /// renewing the service certificate in CCF gives). Node certificates signed before stay
    /// valid under it, and under the old one.
    pub fn renewed_cert_pem(&self) -> Result<String, PkiError> {
        let key = KeyPair::try_from(self.key_pkcs8.as_slice()).map_err(pki_err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki_err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "CCF Service");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        set_validity(&mut params, SystemTime::now(), 365);
        let serial: [u8; 16] = rand_serial();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        Ok(params.self_signed(&key).map_err(pki_err)?.pem())
    }
}

fn rand_serial() -> [u8; 16] {
    use sha2::Digest;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let digest = sha2::Sha256::digest(nanos.to_le_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out[0] &= 0x7f; // a positive INTEGER
    out
}

/// One node's identity and both of its certificates.
pub struct NodeIdentity {
    /// Node id: SHA-256 of the public key's SubjectPublicKeyInfo.
    pub node_id: String,
    /// Self-signed, CA-flagged certificate PEM (`nodecert.pem` of a joining node).
    pub self_signed_pem: String,
    /// Service-endorsed certificate PEM.
    pub endorsed_pem: String,
    self_signed: Arc<CertifiedKey>,
    endorsed: Arc<CertifiedKey>,
    key_pkcs8: Vec<u8>,
}

/// A node certificate's parameters (SANs 127.0.0.1 and localhost, "CN=CCF Node").
fn node_params() -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).map_err(pki_err)?;
    p.subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    p.distinguished_name.push(DnType::CommonName, "CCF Node");
    Ok(p)
}

impl NodeIdentity {
    /// A new node key with both certificates. The endorsed one is valid `days` from now:
    /// a genesis node's, as if members had renewed it (`set_all_nodes_certificate_validity`);
    /// a launched node's is issued again, with the trust proposal's validity, when it is
    /// trusted ([`CertSlot::reissue_endorsed`]).
    pub fn generate(service: &ServiceIdentity, days: u64) -> Result<Self, PkiError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(pki_err)?;
        let node_id = sha256_hex(&key.subject_public_key_info());
        let mut own = node_params()?;
        own.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // CCF: `node_certificate.initial_validity_days`, 1 by default.
        set_validity(&mut own, SystemTime::now(), 1);
        let self_signed = own.self_signed(&key).map_err(pki_err)?;
        let mut endorsed = node_params()?;
        set_validity(&mut endorsed, SystemTime::now(), days);
        let endorsed = endorsed.signed_by(&key, &service.issuer).map_err(pki_err)?;
        Ok(NodeIdentity {
            node_id,
            self_signed_pem: self_signed.pem(),
            endorsed_pem: endorsed.pem(),
            self_signed: certified(self_signed.der().clone(), &key)?,
            endorsed: certified(endorsed.der().clone(), &key)?,
            key_pkcs8: key.serialize_der(),
        })
    }
}

/// The certificate a node's TLS listener presents; switched when the node becomes endorsed.
#[derive(Debug)]
pub struct CertSlot {
    current: RwLock<(bool, Arc<CertifiedKey>)>,
    self_signed: Arc<CertifiedKey>,
    endorsed: RwLock<Arc<CertifiedKey>>,
    key_pkcs8: Vec<u8>,
}

impl CertSlot {
    /// Starts with the self-signed certificate unless `endorsed`.
    pub fn new(identity: &NodeIdentity, endorsed: bool) -> Arc<Self> {
        let first = if endorsed {
            identity.endorsed.clone()
        } else {
            identity.self_signed.clone()
        };
        Arc::new(CertSlot {
            current: RwLock::new((endorsed, first)),
            self_signed: identity.self_signed.clone(),
            endorsed: RwLock::new(identity.endorsed.clone()),
            key_pkcs8: identity.key_pkcs8.clone(),
        })
    }

    /// Issue the node's endorsed certificate again, valid from `from` for `days` (CCF's
    /// `transition_node_to_trusted`: `ccf.network.generateEndorsedCertificate(csr,
    /// valid_from, validity_period_days)`); presented from now on once endorsed. Its PEM.
    pub fn reissue_endorsed(
        &self,
        service: &ServiceIdentity,
        from: SystemTime,
        days: u64,
    ) -> Result<String, PkiError> {
        let key = KeyPair::try_from(self.key_pkcs8.as_slice()).map_err(pki_err)?;
        let mut params = node_params()?;
        set_validity(&mut params, from, days);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&rand_serial()));
        let cert = params.signed_by(&key, &service.issuer).map_err(pki_err)?;
        let certified = certified(cert.der().clone(), &key)?;
        *self.endorsed.write().unwrap_or_else(|e| e.into_inner()) = certified.clone();
        let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
        if cur.0 {
            cur.1 = certified;
        }
        Ok(cert.pem())
    }

    /// Present the endorsed (or self-signed) certificate from now on.
    pub fn set_endorsed(&self, endorsed: bool) {
        let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
        if cur.0 != endorsed {
            *cur = (
                endorsed,
                if endorsed {
                    self.endorsed
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .clone()
                } else {
                    self.self_signed.clone()
                },
            );
        }
    }

    /// A rustls server config presenting this slot's certificate.
    pub fn server_config(self: &Arc<Self>) -> rustls::ServerConfig {
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone())
    }
}

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .1
                .clone(),
        )
    }
}

/// Write a file readable only by its owner.
pub fn write_private(path: &Path, text: &str) -> Result<(), PkiError> {
    let w = |source| PkiError::Write {
        path: path.into(),
        source,
    };
    std::fs::write(path, text).map_err(w)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(w)?;
    }
    Ok(())
}

/// A member identity written to `dir` as `member{i}_cert.pem` / `member{i}_privk.pem`.
pub struct MemberFiles {
    /// Certificate file.
    pub cert: PathBuf,
    /// Key file (SEC1 with `EC PARAMETERS`).
    pub key: PathBuf,
    /// Certificate PEM.
    pub cert_pem: String,
}

/// Make member `i` and write its files.
pub fn write_member(dir: &Path, i: usize) -> Result<MemberFiles, PkiError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(pki_err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki_err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("member{i}"));
    let cert = params.self_signed(&key).map_err(pki_err)?;
    use p384::pkcs8::DecodePrivateKey;
    let sk = p384::SecretKey::from_pkcs8_der(&key.serialize_der()).map_err(pki_err)?;
    let sec1 = sk
        .to_sec1_pem(p384::pkcs8::LineEnding::LF)
        .map_err(pki_err)?;
    let files = MemberFiles {
        cert: dir.join(format!("member{i}_cert.pem")),
        key: dir.join(format!("member{i}_privk.pem")),
        cert_pem: cert.pem(),
    };
    std::fs::write(&files.cert, &files.cert_pem).map_err(|source| PkiError::Write {
        path: files.cert.clone(),
        source,
    })?;
    // secp384r1's OID, as `openssl ecparam -genkey` writes it before the key.
    write_private(
        &files.key,
        &format!(
            "-----BEGIN EC PARAMETERS-----\nBgUrgQQAIg==\n-----END EC PARAMETERS-----\n{}",
            sec1.as_str()
        ),
    )?;
    Ok(files)
}
