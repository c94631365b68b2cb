//! A command line clap refused (exit 64): its error as one message (clap's first sentence
//! with what it names: the missing argument, the value refused) and causes (clap's tip and
//! usage lines), and the next step: fix the command line, with the help of the command
//! that was meant.

use crate::error_chain::ErrorDoc;
use crate::next_step::{Action, NextStep};

/// `e`, refused on command line `args` (`args[0]` is the program): the error and what to do.
pub(crate) fn refused(e: &clap::Error, args: &[String]) -> (ErrorDoc, NextStep) {
    let meant = meant(args);
    let error = if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // clap printed the whole help: its first line is the command's description.
        ErrorDoc::message(format!(
            "'{}' requires a subcommand but none was given",
            named(&meant)
        ))
    } else {
        parse(&e.to_string())
    };
    let help = format!("{} --help", named(&meant));
    let reason = format!(
        "the command line: {} (nothing was done; `{help}` lists its arguments and flags)",
        error.message
    );
    let next = NextStep::new(Action::Fix, Some(help), reason);
    (error, next)
}

/// `noderoll` and the subcommands meant.
fn named(meant: &[String]) -> String {
    std::iter::once("noderoll")
        .chain(meant.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// clap's error text: the first line (less `error: `) and the indented lines under it (what
/// it names) are the message; the later lines, but the pointer to `--help`, the causes.
fn parse(rendered: &str) -> ErrorDoc {
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or_default();
    let mut message = first.trim_start_matches("error: ").trim_end().to_string();
    let mut named = Vec::new();
    let mut rest = Vec::new();
    let mut under_first = true;
    for line in lines {
        if line.trim().is_empty() {
            under_first = false;
        } else if under_first && line.starts_with(char::is_whitespace) {
            named.push(line.trim().to_string());
        } else if !line.starts_with("For more information") {
            under_first = false;
            rest.push(line.trim().to_string());
        }
    }
    if !named.is_empty() {
        message = format!("{message} {}", named.join(", "));
    }
    ErrorDoc {
        message,
        causes: rest,
    }
}

/// The subcommands the command line names (`["channel", "apply"]`): its words that are
/// subcommands, in order, skipping flags and their values; none for a subcommand clap does
/// not know.
fn meant(args: &[String]) -> Vec<String> {
    let mut cmd = super::args::parser();
    cmd.build();
    let mut path = Vec::new();
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        if word == "--" || !cmd.has_subcommands() {
            break;
        }
        if let Some(flag) = word.strip_prefix('-') {
            if takes_value(&cmd, flag) {
                words.next();
            }
            continue;
        }
        match cmd.find_subcommand(word) {
            // clap's own `help` takes no `--help`: the program's help says it all.
            Some(sub) if sub.get_name() != "help" => {
                path.push(sub.get_name().to_string());
                cmd = sub.clone();
            }
            _ => break,
        }
    }
    path
}

/// `-x` or `--long` (`flag` without its first `-`) is an option of `cmd` whose value is the
/// next word.
fn takes_value(cmd: &clap::Command, flag: &str) -> bool {
    if flag.contains('=') {
        return false;
    }
    cmd.get_arguments().any(|a| {
        let named = match flag.strip_prefix('-') {
            Some(long) => a.get_long() == Some(long),
            None => flag.chars().count() == 1 && a.get_short() == flag.chars().next(),
        };
        named && a.get_action().takes_values()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(String::from).collect()
    }

    #[test]
    fn the_message_names_what_is_missing_and_the_usage_is_a_cause() {
        let doc = parse(
            "error: the following required arguments were not provided:\n  --plan <PLAN>\n\nUsage: noderoll plan --plan <PLAN> --out <OUT>\n\nFor more information, try '--help'.\n",
        );
        assert_eq!(
            doc.message,
            "the following required arguments were not provided: --plan <PLAN>"
        );
        assert_eq!(
            doc.causes,
            ["Usage: noderoll plan --plan <PLAN> --out <OUT>"]
        );
    }

    #[test]
    fn the_subcommand_meant_is_found_past_flags_and_their_values() {
        let meant = |line: &str| meant(&args(line));
        assert_eq!(meant("noderoll --output json plan --out F"), ["plan"]);
        assert_eq!(
            meant("noderoll -v channel apply --plan p --bogus"),
            ["channel", "apply"]
        );
        assert!(meant("noderoll frobnicate").is_empty());
        assert!(meant("noderoll help frobnicate").is_empty());
    }
}
