//! Shell completions and the man page, generated from the clap definition (committed copies
//! under `completions/` are checked against these by the tests).

use clap::CommandFactory;

use super::args::Cli;

/// A completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "noderoll", &mut out);
    String::from_utf8(out).expect("completion scripts are UTF-8")
}

/// The man page (roff).
pub(crate) fn man_page() -> String {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .expect("rendering to memory cannot fail");
    String::from_utf8(out).expect("man pages are UTF-8")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
