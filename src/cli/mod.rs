//! Command-line parsing and dispatch.

pub mod args;
pub mod dispatch;
pub mod generate;

pub use dispatch::main_impl;
