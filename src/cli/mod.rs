//! Command-line parsing and dispatch.

pub(crate) mod args;
pub(crate) mod dispatch;
pub(crate) mod generate;
mod usage;

pub use dispatch::main_impl;
