//! CCF governance COSE Sign1: building signed requests, and parsing/verifying them (for tests
//! and the simulated service).
//!
//! Wire format (CCF's `MemberCOSESign1AuthnPolicy`): CBOR tag 18 around
//! `[protected, {}, payload, signature]`; protected = `{1: alg, 4: kid (bstr of the lowercase
//! hex member id), "ccf.gov.msg.type": tstr, "ccf.gov.msg.created_at": uint seconds,
//! ["ccf.gov.msg.proposal_id": tstr]}` in that (deterministic) order; signature raw `r‖s`.

use coset::cbor::value::Value;
use coset::iana::{self, EnumI64};
use coset::{
    CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, Label, TaggedCborSerializable,
};

use super::algorithm::Algorithm;
use super::error::IdentityError;
use super::identity::{Member, PublicKey};

/// `ccf.gov.msg.type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    /// Create a proposal.
    Proposal,
    /// Vote.
    Ballot,
    /// Withdraw a proposal.
    Withdrawal,
    /// Acknowledge a state digest.
    Ack,
    /// Refresh a state digest.
    StateDigest,
}

impl MsgType {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MsgType::Proposal => "proposal",
            MsgType::Ballot => "ballot",
            MsgType::Withdrawal => "withdrawal",
            MsgType::Ack => "ack",
            MsgType::StateDigest => "state_digest",
        }
    }
}

/// The CCF-specific protected headers of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovHeaders {
    /// Message type the endpoint expects.
    pub msg_type: MsgType,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// Required for ballots and withdrawals: must equal the proposal id in the URL.
    pub proposal_id: Option<String>,
}

const TYPE: &str = "ccf.gov.msg.type";
const CREATED_AT: &str = "ccf.gov.msg.created_at";
const PROPOSAL_ID: &str = "ccf.gov.msg.proposal_id";

fn cose_alg(alg: Algorithm) -> iana::Algorithm {
    match alg {
        Algorithm::ES256 => iana::Algorithm::ES256,
        Algorithm::ES384 => iana::Algorithm::ES384,
    }
}

/// Build the unsigned message for `member` (exposed so tests can check the bytes).
pub fn unsigned(
    alg: Algorithm,
    member_id: &str,
    headers: &GovHeaders,
    payload: &[u8],
) -> CoseSign1 {
    let mut h = HeaderBuilder::new()
        .algorithm(cose_alg(alg))
        .key_id(member_id.as_bytes().to_vec())
        .text_value(TYPE.into(), Value::Text(headers.msg_type.as_str().into()))
        .text_value(CREATED_AT.into(), Value::Integer(headers.created_at.into()));
    if let Some(pid) = &headers.proposal_id {
        h = h.text_value(PROPOSAL_ID.into(), Value::Text(pid.clone()));
    }
    CoseSign1Builder::new()
        .protected(h.build())
        .payload(payload.to_vec())
        .build()
}

/// Sign a governance request body for `member`; returns the tagged COSE Sign1 bytes.
pub async fn sign(
    member: &Member,
    headers: &GovHeaders,
    payload: &[u8],
) -> Result<Vec<u8>, IdentityError> {
    let alg = member.algorithm();
    let mut msg = unsigned(alg, member.id(), headers, payload);
    let digest = alg.digest(&msg.tbs_data(b""));
    msg.signature = member.sign_digest(&digest).await?;
    Ok(msg
        .to_tagged_vec()
        .expect("serialising an in-memory COSE_Sign1 cannot fail"))
}

/// Why a COSE message was refused (texts follow CCF's where CCF has one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoseError {
    /// Valid COSE but without tag 18.
    #[error("COSE_Sign1 is not tagged")]
    NotTagged,
    /// Not a COSE_Sign1 at all.
    #[error("failed to decode COSE_Sign1: {0}")]
    Malformed(String),
    /// A required header is missing or has the wrong type.
    #[error("{0}")]
    BadHeader(String),
    /// The algorithm is not ES256/ES384.
    #[error("Unsupported algorithm: {0}")]
    UnsupportedAlgorithm(i64),
    /// The signature does not verify.
    #[error("Failed to validate COSE Sign1")]
    BadSignature,
}

/// A parsed (not yet verified) governance message.
#[derive(Debug, Clone)]
pub struct ParsedMessage {
    msg: CoseSign1,
    /// Algorithm from the protected header.
    pub alg: Algorithm,
    /// `kid` as text: the signer's member id.
    pub kid: String,
    /// `ccf.gov.msg.type`.
    pub msg_type: String,
    /// `ccf.gov.msg.created_at`.
    pub created_at: u64,
    /// `ccf.gov.msg.proposal_id`.
    pub proposal_id: Option<String>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl ParsedMessage {
    /// Parse bytes the way CCF does: tag 18 required, `alg`, bstr `kid`, type and created_at
    /// mandatory.
    pub fn parse(bytes: &[u8]) -> Result<Self, CoseError> {
        let msg = untag(bytes)?;
        let p = &msg.protected.header;
        let alg = algorithm(p)?;
        if p.key_id.is_empty() {
            return Err(CoseError::BadHeader(
                "Missing kid in protected header".into(),
            ));
        }
        let kid = String::from_utf8(p.key_id.clone())
            .map_err(|_| CoseError::BadHeader("kid is not a hex member id".into()))?;
        let msg_type =
            text_header(p, TYPE)?.ok_or_else(|| CoseError::BadHeader(format!("Missing {TYPE}")))?;
        let created_at = created_at(p)?;
        let proposal_id = text_header(p, PROPOSAL_ID)?;
        let payload = msg.payload.clone().unwrap_or_default();
        Ok(ParsedMessage {
            msg,
            alg,
            kid,
            msg_type,
            created_at,
            proposal_id,
            payload,
        })
    }

    /// Check the signature with a member's public key (and that the curve matches `alg`).
    pub fn verify(&self, key: &PublicKey) -> Result<(), CoseError> {
        if key.algorithm() != self.alg {
            return Err(CoseError::BadSignature);
        }
        let digest = self.alg.digest(&self.msg.tbs_data(b""));
        if key.verify_digest(&digest, &self.msg.signature) {
            Ok(())
        } else {
            Err(CoseError::BadSignature)
        }
    }

    /// The raw signature bytes (CCF keys replay protection on their hash).
    pub fn signature(&self) -> &[u8] {
        &self.msg.signature
    }
}

/// The COSE Sign1 inside CBOR tag 18 (CCF refuses an untagged one).
fn untag(bytes: &[u8]) -> Result<CoseSign1, CoseError> {
    CoseSign1::from_tagged_slice(bytes).map_err(|e| {
        if CoseSign1::from_slice(bytes).is_ok() {
            CoseError::NotTagged
        } else {
            CoseError::Malformed(e.to_string())
        }
    })
}

/// The protected header's `alg`: ES256 or ES384.
fn algorithm(p: &coset::Header) -> Result<Algorithm, CoseError> {
    match &p.alg {
        Some(coset::RegisteredLabelWithPrivate::Assigned(a)) if *a == iana::Algorithm::ES256 => {
            Ok(Algorithm::ES256)
        }
        Some(coset::RegisteredLabelWithPrivate::Assigned(a)) if *a == iana::Algorithm::ES384 => {
            Ok(Algorithm::ES384)
        }
        Some(coset::RegisteredLabelWithPrivate::Assigned(a)) => {
            Err(CoseError::UnsupportedAlgorithm(a.to_i64()))
        }
        Some(coset::RegisteredLabelWithPrivate::PrivateUse(n)) => {
            Err(CoseError::UnsupportedAlgorithm(*n))
        }
        _ => Err(CoseError::BadHeader(
            "Missing algorithm in protected header".into(),
        )),
    }
}

/// A CCF header (text label) of the protected headers.
fn header<'a>(p: &'a coset::Header, name: &str) -> Option<&'a Value> {
    p.rest
        .iter()
        .find(|(l, _)| *l == Label::Text(name.into()))
        .map(|(_, v)| v)
}

/// A text header, if present.
fn text_header(p: &coset::Header, name: &str) -> Result<Option<String>, CoseError> {
    match header(p, name) {
        Some(Value::Text(t)) => Ok(Some(t.clone())),
        Some(_) => Err(CoseError::BadHeader(format!("{name} is not a string"))),
        None => Ok(None),
    }
}

/// `ccf.gov.msg.created_at`: mandatory, seconds since the Unix epoch.
fn created_at(p: &coset::Header) -> Result<u64, CoseError> {
    match header(p, CREATED_AT) {
        Some(Value::Integer(i)) => u64::try_from(*i).map_err(|_| {
            CoseError::BadHeader(format!("{CREATED_AT} must be a non-negative integer"))
        }),
        Some(_) => Err(CoseError::BadHeader(format!(
            "{CREATED_AT} is not an integer"
        ))),
        None => Err(CoseError::BadHeader(format!("Missing {CREATED_AT}"))),
    }
}
