//! Command-line parsing and dispatch.

pub mod args;
pub mod dispatch;

pub use dispatch::main_impl;
