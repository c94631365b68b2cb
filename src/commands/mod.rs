//! One function per subcommand, wiring settings → client → work → output.

pub mod status;
