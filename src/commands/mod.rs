//! One function per subcommand, wiring settings → client → work → output.

#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod status;
