//! Shell completions and the man pages, generated from the clap definition (committed copies
//! under `completions/` are checked against these by the tests). [`Cli::command`] is the
//! definition without the hidden `--supervised` (see [`super::args::parser`]), so neither
//! offers it.

use clap::CommandFactory;

use super::args::Cli;
use crate::errors::AppError;
use crate::exit_codes;
use crate::output::printer::write_stdout;

/// A completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "noderoll", &mut out);
    String::from_utf8(out).expect("completion scripts are UTF-8")
}

/// The command the man pages describe: every command but `help` (a page of its own would
/// only say what `--help` does).
fn documented() -> clap::Command {
    fn without_help(cmd: clap::Command) -> clap::Command {
        cmd.disable_help_subcommand(true)
            .mut_subcommands(without_help)
    }
    let mut cmd = without_help(Cli::command());
    cmd.build();
    cmd
}

/// `noderoll(1)` (roff): what clap_mangen renders, with the exit-code table as EXIT STATUS
/// and the environment variables as ENVIRONMENT. Its SUBCOMMANDS section names the pages
/// [`man_pages`] writes.
pub(crate) fn man_page() -> String {
    let man = clap_mangen::Man::new(documented());
    let mut out = Vec::new();
    let rendered = (|| -> std::io::Result<()> {
        man.render_title(&mut out)?;
        man.render_name_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        man.render_options_section(&mut out)?;
        man.render_subcommands_section(&mut out)?;
        out.extend_from_slice(exit_status_and_environment().as_bytes());
        man.render_version_section(&mut out)
    })();
    rendered.expect("rendering to memory cannot fail");
    String::from_utf8(out).expect("man pages are UTF-8")
}

/// Every man page: `noderoll.1` ([`man_page`]) and one per command and subcommand
/// (`noderoll-apply.1`, `noderoll-channel-check.1`, …), as (file name, roff).
pub(crate) fn man_pages() -> Vec<(String, String)> {
    fn pages_of(cmd: &clap::Command, out: &mut Vec<(String, String)>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let man = clap_mangen::Man::new(sub.clone());
            let mut text = Vec::new();
            man.render(&mut text)
                .expect("rendering to memory cannot fail");
            out.push((
                man.get_filename(),
                String::from_utf8(text).expect("man pages are UTF-8"),
            ));
            pages_of(sub, out);
        }
    }
    let mut pages = vec![("noderoll.1".to_string(), man_page())];
    pages_of(&documented(), &mut pages);
    pages
}

/// `noderoll man`: noderoll(1) on stdout, or every page written into `dir`.
pub(crate) fn man(dir: Option<&std::path::Path>) -> Result<u8, AppError> {
    let Some(dir) = dir else {
        write_stdout(&man_page())?;
        return Ok(exit_codes::SUCCESS);
    };
    let cannot = |what: &std::path::Path, e: std::io::Error| {
        AppError::Usage(format!(
            "--dir: cannot write {}: {e}; give a directory you can write to",
            what.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(|e| cannot(dir, e))?;
    for (name, text) in man_pages() {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| cannot(&path, e))?;
    }
    Ok(exit_codes::SUCCESS)
}

/// The EXIT STATUS (from [`crate::exit_codes::TABLE`], as `--help` and the README show it)
/// and ENVIRONMENT (from [`crate::env_vars::DOCUMENTED`]) sections.
fn exit_status_and_environment() -> String {
    let mut out = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in crate::exit_codes::TABLE {
        out.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff_text(meaning)));
    }
    out.push_str(".SH ENVIRONMENT\n");
    for (name, what) in crate::env_vars::DOCUMENTED {
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff_text(name),
            roff_text(what)
        ));
    }
    out.push_str(&format!(
        ".PP\n{}\n",
        roff_text(crate::env_vars::COMMANDS_GET)
    ));
    out
}

/// `text` as a roff text line: backslashes and hyphens escaped, and no line starting with a
/// control character.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
        super::super::args::parser().debug_assert();
    }

    #[test]
    fn roff_text_escapes_what_roff_would_read_as_markup() {
        assert_eq!(super::roff_text("a-b"), "a\\-b");
        assert_eq!(super::roff_text(".x"), "\\&.x");
        assert_eq!(super::roff_text("a\\b"), "a\\eb");
    }
}
