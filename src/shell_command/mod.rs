//! Shell commands as the plan gives them (`launch`, `stop`, hooks): the words `sh` would read
//! ([`lex`]), whether a command can be one at all, and the program it starts ([`program`]).
//! Pure and below every other layer: the plan checks commands with it when it loads, the
//! launcher when it runs them.

mod lex;
mod program;

pub(crate) use program::{malformed, program_of, resolve};
