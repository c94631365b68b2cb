//! The COSE signing algorithms CCF accepts for members.

use sha2::Digest;

/// A COSE signing algorithm CCF accepts for members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
}

impl Algorithm {
    /// The COSE algorithm id.
    pub fn cose_id(self) -> i64 {
        match self {
            Algorithm::ES256 => -7,
            Algorithm::ES384 => -35,
        }
    }

    /// JOSE/COSE name (`ES256`, `ES384`), as key vaults expect it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
        }
    }

    /// Length of a raw `r‖s` signature.
    pub fn signature_len(self) -> usize {
        match self {
            Algorithm::ES256 => 64,
            Algorithm::ES384 => 96,
        }
    }

    /// The digest this algorithm signs.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Algorithm::ES256 => sha2::Sha256::digest(data).to_vec(),
            Algorithm::ES384 => sha2::Sha384::digest(data).to_vec(),
        }
    }
}
