//! noderoll: rolling code upgrades for Microsoft CCF services.
//!
//! Layout (one concern per module): [`cli`] parses and dispatches, [`settings`] resolves
//! where the service is, [`ccf`] is the typed client (TLS trust, errors, retries, governance),
//! [`signing`] holds member identities and COSE Sign1, [`observe`] reads a service's state,
//! [`output`] renders it, [`wait`] bounds and cancels every wait, [`errors`] and
//! [`exit_codes`] are the failure contract.

#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod ccf;
pub(crate) mod channel;
pub mod cli;
pub(crate) mod commands;
pub(crate) mod english;
pub(crate) mod env_vars;
pub(crate) mod error_chain;
pub(crate) mod errors;
pub(crate) mod exec;
pub(crate) mod exit_codes;
pub(crate) mod journal;
pub(crate) mod next_step;
pub(crate) mod observe;
pub(crate) mod output;
pub mod plan;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub(crate) mod settings;
pub(crate) mod shell_command;
pub mod signing;
pub mod wait;
pub(crate) mod watch;
