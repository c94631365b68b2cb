//! One function per subcommand, wiring settings → client → work → output.

pub mod apply;
pub mod channel;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod journal;
pub mod plan;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod status;
pub mod upgrade;
pub mod vote;
pub mod watch;
