//! One function per subcommand, wiring settings → client → work → output.

pub(crate) mod apply;
pub(crate) mod channel;
#[cfg(feature = "sandbox")]
pub(crate) mod demo;
pub(crate) mod journal;
pub(crate) mod plan;
#[cfg(feature = "sandbox")]
pub(crate) mod sandbox;
pub(crate) mod status;
pub(crate) mod upgrade;
pub(crate) mod vote;
pub(crate) mod watch;
