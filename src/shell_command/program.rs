//! What a command starts: its first word after any assignments, and whether `sh` could run it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::lex::{Word, lex};

/// What a `sh -c` command starts, as far as can be told without running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Program {
    /// A word with a `/`: a file, relative to the directory the command runs in.
    Path(String),
    /// A bare name: looked up on `PATH`.
    Name(String),
    /// Not checked, and why: a shell builtin or keyword, a word the shell computes, ...
    Unchecked(String),
}

/// Shell reserved words (POSIX, and a few of bash's): a command starting with one is shell
/// code (`if`, `{ ...; }`, `! cmd`), not a program to look for.
const SHELL_KEYWORDS: &[&str] = &[
    "!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then",
    "until", "while", "[[", "]]", "function", "select", "time", "coproc",
];

/// Shell builtins (POSIX special and regular builtins, and common `dash`/`bash` ones): they
/// need no file, and the ones that run another command (`exec`, `command`, `.`, `eval`) take
/// it from words noderoll does not interpret.
const SHELL_BUILTINS: &[&str] = &[
    ".", ":", "[", "alias", "bg", "break", "builtin", "cd", "command", "continue", "echo", "eval",
    "exec", "exit", "export", "false", "fg", "getopts", "hash", "jobs", "kill", "local", "printf",
    "pwd", "read", "readonly", "return", "set", "shift", "source", "test", "times", "trap", "true",
    "type", "ulimit", "umask", "unalias", "unset", "wait",
];

/// Why a `launch` or `stop` value cannot be a command at all (checked at plan load): empty,
/// a NUL character, or a quote left open.
pub(crate) fn malformed(command: &str) -> Option<String> {
    if command.trim().is_empty() {
        return Some("it is empty".into());
    }
    if command.contains('\0') {
        return Some("it contains a NUL character".into());
    }
    lex(command)
        .unterminated
        .map(|q| format!("a {q} quote is never closed"))
}

/// The program a `sh -c` command starts: the first word of its first simple command after
/// any leading `NAME=value` assignments, with quotes removed.
///
/// Deliberately not checked (so never refused): a command starting with shell syntax
/// (`(`, `{`, `if`, `!` ...), with a builtin (`exec`, `command`, `.`, `eval`, `cd`, `echo`,
/// ...), or whose first word the shell computes (`$VAR`, `` `...` ``, `$(...)`, a glob, `~`),
/// and a bare name after a `PATH=` assignment. Wrappers such as `env`, `sh`, `timeout` or
/// `ssh` are programs like any other: they are looked for, what they run is not.
pub(crate) fn program_of(command: &str) -> Result<Program, String> {
    if let Some(why) = malformed(command) {
        return Err(why);
    }
    let lexed = lex(command);
    let is_assignment = |w: &Word| {
        let name = w.raw.split_once('=').map(|(n, _)| n).unwrap_or("");
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut words = lexed.words.iter().peekable();
    let mut sets_path = false;
    while let Some(w) = words.next_if(|w| is_assignment(w)) {
        sets_path |= w.raw.starts_with("PATH=");
    }
    let Some(first) = words.next() else {
        return Ok(Program::Unchecked(if lexed.starts_with_syntax {
            "starts with shell syntax: not checked".into()
        } else {
            "runs no program: not checked".into()
        }));
    };
    let unchecked = |why: &str| {
        Ok(Program::Unchecked(format!(
            "`{}` {why}: not checked",
            first.raw
        )))
    };
    if first.computed {
        return unchecked("is computed by the shell");
    }
    let plain = first.raw == first.value;
    if plain && SHELL_KEYWORDS.contains(&first.value.as_str()) {
        return unchecked("is a shell keyword");
    }
    // Quoting a builtin's name does not stop the shell finding it (unlike a keyword).
    if SHELL_BUILTINS.contains(&first.value.as_str()) {
        return unchecked("is a shell builtin");
    }
    if first.value.is_empty() {
        return Err("its first word is empty".into());
    }
    if first.value.contains('/') {
        Ok(Program::Path(first.value.clone()))
    } else if sets_path {
        unchecked("is looked up on a PATH the command sets")
    } else {
        Ok(Program::Name(first.value.clone()))
    }
}

/// Whether `sh` could run a file with this metadata: not a directory, and an execute bit
/// set (the usual missing `chmod +x`; ownership and ACLs are not judged).
fn runnable(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        !meta.is_dir() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        !meta.is_dir()
    }
}

/// Find `program` as `sh` would from `cwd` with `path` as `PATH`: `Ok` says what runs.
pub(crate) fn resolve(
    program: &Program,
    cwd: &Path,
    path: Option<&OsStr>,
) -> Result<String, String> {
    match program {
        Program::Unchecked(why) => Ok(why.clone()),
        Program::Path(p) => {
            // `./x` in `/plan` is `/plan/x` (not `/plan/./x`) in messages.
            let full: PathBuf = cwd
                .join(p)
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect();
            let relative = if Path::new(p).is_absolute() {
                String::new()
            } else {
                format!(" (relative to {})", cwd.display())
            };
            match std::fs::metadata(&full) {
                Ok(meta) if meta.is_dir() => Err(format!("{p} is a directory{relative}")),
                Ok(meta) if !runnable(&meta) => Err(format!(
                    "{p} is not executable (chmod +x {})",
                    full.display()
                )),
                Ok(_) => Ok(full.display().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if std::fs::symlink_metadata(&full).is_ok() {
                        Err(format!(
                            "{p} is a symbolic link to a file that does not exist{relative}"
                        ))
                    } else {
                        Err(format!("{p} does not exist{relative}"))
                    }
                }
                Err(e) => Err(format!("{p} cannot be inspected{relative}: {e}")),
            }
        }
        Program::Name(name) => {
            // Without PATH, each shell has its own default: leave it to the shell.
            let Some(path) = path else {
                return Ok(format!("{name} (no PATH set: not checked)"));
            };
            let mut not_runnable = None;
            for dir in std::env::split_paths(path) {
                // An empty PATH entry is the working directory: the plan's.
                let candidate = cwd.join(dir).join(name);
                match std::fs::metadata(&candidate) {
                    Ok(meta) if runnable(&meta) => {
                        return Ok(format!("{name} on PATH ({})", candidate.display()));
                    }
                    Ok(meta) if !meta.is_dir() => {
                        not_runnable.get_or_insert(candidate);
                    }
                    _ => {}
                }
            }
            if let Some(c) = not_runnable {
                return Err(format!(
                    "{name} is on PATH as {} but not executable (chmod +x {})",
                    c.display(),
                    c.display()
                ));
            }
            let here = cwd.join(name);
            let hint = if std::fs::metadata(&here).is_ok_and(|m| !m.is_dir()) {
                format!("; to run the file {name} in the plan's directory, write ./{name}")
            } else {
                String::new()
            };
            Err(format!("{name} is not found on PATH{hint}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `program_of` should make of a command.
    enum Want {
        /// `Program::Path`.
        Path(&'static str),
        /// `Program::Name`.
        Name(&'static str),
        /// `Program::Unchecked`, for any reason.
        Unchecked,
        /// Refused with a message containing this (and `malformed` refuses it too).
        Refused(&'static str),
    }

    const PROGRAMS: &[(&str, Want)] = &[
        ("./missing.sh", Want::Path("./missing.sh")),
        (
            "./launch-node.sh --count 3 > log 2>&1",
            Want::Path("./launch-node.sh"),
        ),
        ("/opt/bin/launch", Want::Path("/opt/bin/launch")),
        // The sandbox's ready plan (shell_quote) and the tests' host-data override.
        (
            "'/tmp/x y/noderoll' sandbox launch-node --dir '/tmp/x'",
            Want::Path("/tmp/x y/noderoll"),
        ),
        (
            "NODEROLL_HOST_DATA=abc123 '/p/noderoll' sandbox launch-node --dir '/tmp/x'",
            Want::Path("/p/noderoll"),
        ),
        ("A=1 B=\"x y\" C='z' ./l.sh", Want::Path("./l.sh")),
        ("\"./my launcher.sh\" a", Want::Path("./my launcher.sh")),
        ("./my\\ launcher.sh", Want::Path("./my launcher.sh")),
        ("'/it'\\''s/l'", Want::Path("/it's/l")),
        ("# a comment, isn't it\n\n./l.sh", Want::Path("./l.sh")),
        ("./l.sh # it's fine", Want::Path("./l.sh")),
        ("\\\n  ./l.sh", Want::Path("./l.sh")),
        ("launch-node", Want::Name("launch-node")),
        (
            "noderoll sandbox launch-node --dir .",
            Want::Name("noderoll"),
        ),
        ("env FOO=1 ./missing.sh", Want::Name("env")),
        ("sh ./not-executable.sh", Want::Name("sh")),
        ("ssh host ./launch.sh", Want::Name("ssh")),
        ("cat <<EOF\nit's\nEOF", Want::Name("cat")),
        ("cat <<-'EOF'\nit's\nEOF", Want::Name("cat")),
        // Redirections, before or after the command.
        ("2>/dev/null ./l.sh", Want::Path("./l.sh")),
        (">log 2>&1 ./l.sh a", Want::Path("./l.sh")),
        ("< in.json X=1 ./l.sh", Want::Path("./l.sh")),
        ("./l.sh >> log 2>&1", Want::Path("./l.sh")),
        ("./l.sh 2> err", Want::Path("./l.sh")),
        ("2>&- ./l.sh", Want::Path("./l.sh")),
        // Builtins, computed words and shell syntax: not looked for.
        ("exec ./missing.sh", Want::Unchecked),
        ("command -v x", Want::Unchecked),
        (". ./env.sh && ./l.sh", Want::Unchecked),
        ("'exec' ./x", Want::Unchecked),
        ("echo boom >&2; exit 3", Want::Unchecked),
        ("true", Want::Unchecked),
        ("cd sub && ./l.sh", Want::Unchecked),
        ("$LAUNCHER --fast", Want::Unchecked),
        ("\"$HOME/bin/launch\"", Want::Unchecked),
        ("`which launch`", Want::Unchecked),
        ("$(which launch) x", Want::Unchecked),
        ("(cd sub && ./l.sh)", Want::Unchecked),
        ("{ ./l.sh; }", Want::Unchecked),
        ("if true; then ./l.sh; fi", Want::Unchecked),
        ("! ./l.sh", Want::Unchecked),
        ("~/bin/launch", Want::Unchecked),
        ("./launch-*.sh", Want::Unchecked),
        ("PATH=/opt/bin:$PATH launch", Want::Unchecked),
        ("FOO=1", Want::Unchecked),
        ("echo \"$(echo \"it's\")\"", Want::Unchecked),
        // Not a command at all.
        ("", Want::Refused("empty")),
        ("  \n ", Want::Refused("empty")),
        ("./l.sh 'oops", Want::Refused("' quote is never closed")),
        ("./l.sh \"oops", Want::Refused("\" quote is never closed")),
        ("echo \"it's", Want::Refused("\" quote is never closed")),
        ("./l\0.sh", Want::Refused("NUL")),
    ];

    #[test]
    fn launcher_program_is_the_first_word_after_assignments() {
        for (command, want) in PROGRAMS {
            let got = program_of(command);
            match want {
                Want::Path(p) => assert_eq!(got, Ok(Program::Path(p.to_string())), "{command:?}"),
                Want::Name(n) => assert_eq!(got, Ok(Program::Name(n.to_string())), "{command:?}"),
                Want::Unchecked => {
                    assert!(
                        matches!(got, Ok(Program::Unchecked(_))),
                        "{command:?}: {got:?}"
                    )
                }
                Want::Refused(why) => {
                    let e = got.unwrap_err();
                    assert!(e.contains(why), "{command:?}: {e}");
                    assert!(malformed(command).is_some(), "{command:?}");
                }
            }
        }
        // Quotes inside what the lexer does not follow are left to `sh -n`.
        for fine in [
            "echo \"$(echo \"it's\")\"",
            "cat <<EOF\nit's\nEOF",
            "echo $'it\\'s'",
        ] {
            assert_eq!(malformed(fine), None, "{fine:?}");
        }
    }

    /// What the quote check refuses at plan load, `sh` refuses too (and the reverse for
    /// these): it never turns away a command the shell would run.
    #[test]
    fn launcher_quote_check_agrees_with_sh() {
        let corpus = [
            "./l.sh 'a b' \"c d\"",
            "./l.sh 'it'\\''s'",
            "./l.sh \"it's\"",
            "./l.sh it\\'s",
            "./l.sh \"a \\\" b\"",
            "./l.sh # it's a comment",
            "./l.sh a#'b'",
            "echo \"$(echo \"it's\")\"",
            "echo `echo \"'\"`",
            "cat <<EOF\nit's\nEOF",
            "cat <<'EOF'\n\"\nEOF",
            "echo ${X:-'a b'}",
            "echo \"${X:-it's}\"",
            "./l.sh \\\n 'x'",
            "./l.sh 'x",
            "./l.sh \"x",
            "./l.sh 'x\"",
            "./l.sh \"it's",
            "./l.sh a'b",
            "./l.sh \\\"'",
        ];
        for command in corpus {
            let sh_accepts = std::process::Command::new("sh")
                .args(["-n", "-c", command])
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap()
                .success();
            assert_eq!(
                malformed(command).is_none(),
                sh_accepts,
                "{command:?}: quote check {:?}, sh -n accepts: {sh_accepts}",
                malformed(command)
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn launcher_programs_resolve_like_sh() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let bin = d.join("bin");
        std::fs::create_dir(&bin).unwrap();
        let write = |p: &Path, mode: u32| {
            std::fs::write(p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write(&d.join("launch.sh"), 0o755);
        write(&d.join("plain.sh"), 0o644);
        write(&bin.join("tool"), 0o755);
        write(&bin.join("noexec"), 0o644);
        std::os::unix::fs::symlink(d.join("gone"), d.join("dangling")).unwrap();
        let path = std::env::join_paths([&bin]).unwrap();
        let at = |p: &str| resolve(&program_of(p).unwrap(), d, Some(&path));
        assert_eq!(
            at("./launch.sh").unwrap(),
            d.join("launch.sh").display().to_string()
        );
        assert!(at("'./launch.sh' --x").is_ok());
        assert!(at(&format!("{}/launch.sh", d.display())).is_ok());
        assert!(at("tool a b").unwrap().contains("on PATH"));
        let e = at("./missing.sh").unwrap_err();
        assert_eq!(
            e,
            format!("./missing.sh does not exist (relative to {})", d.display())
        );
        let e = at("/nonexistent/launch").unwrap_err();
        assert_eq!(e, "/nonexistent/launch does not exist");
        let e = at("./plain.sh").unwrap_err();
        let want = format!(
            "./plain.sh is not executable (chmod +x {})",
            d.join("plain.sh").display()
        );
        assert_eq!(e, want);
        assert!(at("./bin").unwrap_err().contains("is a directory"));
        assert!(at("./dangling").unwrap_err().contains("symbolic link"));
        assert!(
            at("nosuch")
                .unwrap_err()
                .contains("nosuch is not found on PATH")
        );
        let e = at("noexec").unwrap_err();
        assert!(
            e.contains("on PATH as") && e.contains("not executable"),
            "{e}"
        );
        let e = at("launch.sh").unwrap_err();
        assert!(e.contains("write ./launch.sh"), "{e}");
        // Not checked: no word of theirs is looked for.
        assert!(at("exec ./missing.sh").is_ok());
        assert!(at("$X").is_ok());
        // Without PATH the shell's default applies: not judged.
        assert!(resolve(&Program::Name("nosuch".into()), d, None).is_ok());
        // An empty PATH entry is the working directory.
        let with_cwd = std::env::join_paths([Path::new(""), bin.as_path()]).unwrap();
        assert!(resolve(&Program::Name("launch.sh".into()), d, Some(&with_cwd)).is_ok());
    }
}
