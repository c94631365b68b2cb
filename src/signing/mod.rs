//! Member identities and CCF's COSE Sign1 request signing.
//!
//! Private keys stay inside [`identity::LocalKey`] (whose `Debug` is redacted) or behind an
//! external signer command; nothing here logs or returns key material.

mod algorithm;
pub mod cose;
mod error;
pub mod external;
pub mod identity;

pub use algorithm::Algorithm;
pub use cose::{GovHeaders, MsgType, ParsedMessage};
pub use error::IdentityError;
pub use external::ExternalSigner;
pub use identity::{LocalKey, Member, MemberCert, PublicKey, Signer};
