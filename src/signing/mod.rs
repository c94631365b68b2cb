//! Member identities and CCF's COSE Sign1 request signing.
//!
//! Private keys stay inside [`identity::LocalKey`] (whose `Debug` is redacted) or behind an
//! external signer command; nothing here logs or returns key material.

pub mod cose;
pub mod external;
pub mod identity;

pub use cose::{GovHeaders, MsgType, ParsedMessage};
pub use external::ExternalSigner;
pub use identity::{Algorithm, IdentityError, LocalKey, Member, MemberCert, PublicKey, Signer};
