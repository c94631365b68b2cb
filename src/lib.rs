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
pub mod channel;
pub mod cli;
pub mod commands;
pub mod env_vars;
pub mod error_chain;
pub mod errors;
pub mod exec;
pub mod exit_codes;
pub mod journal;
pub mod observe;
pub mod output;
pub mod plan;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod settings;
pub mod shell_command;
pub mod signing;
pub mod wait;
pub mod watch;
