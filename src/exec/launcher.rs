//! The command-launcher contract. `launch` runs once per new node with the run's context in
//! the environment and prints, as its last stdout line, `{"node_id": "<64 hex>",
//! "rpc_address": "host:port"}` (at least one of the two); a non-zero exit is a failed launch.
//! `stop` runs with `NODEROLL_NODE_ID` and `NODEROLL_NODE_RPC_ADDRESS` once a node must go.
//!
//! Before anything is written, preflight asks [`CommandLauncher::preflight`] whether the
//! commands can run at all: valid `sh` syntax, the plan's directory readable, and the program
//! a command starts (its first word, see [`program_of`]) present and executable.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ccf::NodeAddr;
use crate::ccf::types::is_hex_id;
use crate::plan::Launched;
use crate::plan::spec::{CodePlatform, UpgradeSpec};

/// A launch or stop that failed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The command failed.
    #[error("{which} command `{command}` failed: {detail}")]
    Failed {
        /// `launch` or `stop`.
        which: &'static str,
        /// The command.
        command: String,
        /// Exit status and stderr excerpt.
        detail: String,
    },
    /// The command's answer is unusable.
    #[error(
        "launch command `{command}` printed an unusable answer: {detail}; its last stdout line must be \
             {{\"node_id\": \"<64 hex>\", \"rpc_address\": \"host:port\"}}"
    )]
    BadOutput {
        /// The command.
        command: String,
        /// Why.
        detail: String,
    },
}

/// What a launch is told.
#[derive(Debug, Clone)]
pub struct LaunchRequest {
    /// Run id.
    pub run_id: String,
    /// Index of the new node in this run.
    pub index: usize,
    /// A name for it.
    pub name: String,
    /// A current trusted node to join through.
    pub target_rpc_address: NodeAddr,
    /// The service certificate file.
    pub service_cert: PathBuf,
}

/// Runs the plan file's launch and stop commands.
#[derive(Debug, Clone)]
pub struct CommandLauncher {
    launch: String,
    stop: String,
    cwd: PathBuf,
    timeout: Duration,
    host_data: String,
    ccf_version: String,
    platform: &'static str,
    package: Option<PathBuf>,
}

impl CommandLauncher {
    /// From the plan; commands run through `sh -c` in the plan file's directory.
    pub fn new(spec: &UpgradeSpec, plan_dir: &Path) -> Self {
        CommandLauncher {
            launch: spec.nodes.launch.clone(),
            stop: spec.nodes.stop.clone(),
            cwd: plan_dir.to_path_buf(),
            timeout: spec.nodes.launch_timeout,
            host_data: spec.target.host_data.clone(),
            ccf_version: spec.target.ccf_version.clone().unwrap_or_default(),
            package: None,
            platform: match spec.target.platform {
                CodePlatform::Virtual => "virtual",
                CodePlatform::Snp => "snp",
            },
        }
    }

    async fn run(
        &self,
        which: &'static str,
        command: &str,
        env: &[(&str, String)],
    ) -> Result<String, LaunchError> {
        let failed = |detail: String| LaunchError::Failed {
            which,
            command: command.to_string(),
            detail,
        };
        let ran = super::shell::run(command, &self.cwd, env, None, self.timeout)
            .await
            .map_err(failed)?;
        if !ran.status.success() {
            return Err(failed(format!("{} ({})", ran.status, ran.stderr_tail)));
        }
        Ok(ran.stdout)
    }

    /// Pass a verified package to every launch as `NODEROLL_PACKAGE`.
    pub fn with_package(mut self, package: Option<PathBuf>) -> Self {
        self.package = package;
        self
    }

    /// Start one node.
    pub async fn launch(&self, req: &LaunchRequest) -> Result<Launched, LaunchError> {
        let mut env = vec![
            ("NODEROLL_RUN_ID", req.run_id.clone()),
            ("NODEROLL_NODE_INDEX", req.index.to_string()),
            ("NODEROLL_NODE_NAME", req.name.clone()),
            (
                "NODEROLL_TARGET_RPC_ADDRESS",
                req.target_rpc_address.to_string(),
            ),
            (
                "NODEROLL_SERVICE_CERT",
                req.service_cert.display().to_string(),
            ),
            ("NODEROLL_HOST_DATA", self.host_data.clone()),
            ("NODEROLL_PLATFORM", self.platform.to_string()),
            ("NODEROLL_CCF_VERSION", self.ccf_version.clone()),
        ];
        if let Some(p) = &self.package {
            env.push(("NODEROLL_PACKAGE", p.display().to_string()));
        }
        let stdout = self.run("launch", &self.launch, &env).await?;
        parse_launch_output(&self.launch, &stdout)
    }

    /// Stop one node.
    pub async fn stop(&self, node_id: &str, address: Option<&NodeAddr>) -> Result<(), LaunchError> {
        let env = [
            ("NODEROLL_NODE_ID", node_id.to_string()),
            (
                "NODEROLL_NODE_RPC_ADDRESS",
                address.map(ToString::to_string).unwrap_or_default(),
            ),
        ];
        self.run("stop", &self.stop, &env).await.map(|_| ())
    }

    /// Cancel a launch whose node was never reported (a run stopped while its launch command
    /// ran): the stop command with `NODEROLL_NODE_NAME` and `NODEROLL_RUN_ID`, no node id.
    pub async fn cancel(&self, name: &str, run_id: &str) -> Result<(), LaunchError> {
        let env = [
            ("NODEROLL_NODE_ID", String::new()),
            ("NODEROLL_NODE_RPC_ADDRESS", String::new()),
            ("NODEROLL_NODE_NAME", name.to_string()),
            ("NODEROLL_RUN_ID", run_id.to_string()),
        ];
        self.run("stop", &self.stop, &env).await.map(|_| ())
    }

    /// Preflight (nothing is run): whether the commands the remaining steps need, `launch`
    /// and/or `stop`, can be started. `Ok` says what was found; `Err` names each command and
    /// what is wrong with it.
    pub async fn preflight(&self, launch: bool, stop: bool) -> Result<String, String> {
        let wanted: Vec<(&str, &str)> =
            [("launch", launch, &self.launch), ("stop", stop, &self.stop)]
                .into_iter()
                .filter(|(_, wanted, _)| *wanted)
                .map(|(which, _, command)| (which, command.as_str()))
                .collect();
        if wanted.is_empty() {
            return Ok("no launch or stop left to run".into());
        }
        if let Err(e) = std::fs::read_dir(&self.cwd) {
            return Err(format!(
                "the plan's directory {}, where the launch and stop commands run, cannot be read ({e})",
                self.cwd.display()
            ));
        }
        // Absolute, for messages (the plan may have been named by a relative path).
        let cwd = std::fs::canonicalize(&self.cwd).unwrap_or_else(|_| self.cwd.clone());
        let path = std::env::var_os("PATH");
        let (mut found, mut problems) = (Vec::new(), Vec::new());
        for (which, command) in wanted {
            let verdict = match syntax_check(command).await {
                Ok(()) => {
                    program_of(command).and_then(|program| resolve(&program, &cwd, path.as_deref()))
                }
                Err(e) => Err(e),
            };
            match verdict {
                Ok(what) => found.push(format!("{which}: {what}")),
                Err(e) => problems.push(format!("{which} command `{command}`: {e}")),
            }
        }
        if problems.is_empty() {
            Ok(found.join("; "))
        } else {
            Err(problems.join("; "))
        }
    }
}

/// `sh -n`: the shell parses the command without running anything, so a syntax error (an
/// unterminated quote, a dangling `&&`) is found before the first governance write.
async fn syntax_check(command: &str) -> Result<(), String> {
    let out = tokio::process::Command::new("sh")
        .args(["-n", "-c", command])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(10), out).await {
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => Err(format!(
            "not valid sh syntax ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(Err(e)) => Err(format!("cannot start sh to check it: {e}")),
        // A parse cannot hang; if it somehow does, the launch itself will say more.
        Err(_) => Ok(()),
    }
}

/// What a `sh -c` command starts, as far as can be told without running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
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

/// One word of the first simple command.
#[derive(Debug, Default)]
struct Word {
    /// As written (quotes included).
    raw: String,
    /// After quote removal.
    value: String,
    /// Something the shell would expand or compute (`$`, a backtick, a glob, `~`).
    computed: bool,
}

/// What a quick lexical pass over a command found.
#[derive(Debug, Default)]
struct Lexed {
    /// The words of the first simple command, up to the first operator.
    words: Vec<Word>,
    /// The first simple command begins with an operator (`(`, `;`, `|`, `&`).
    starts_with_syntax: bool,
    /// A quote left open at the end, when the pass can tell (see `complex`).
    unterminated: Option<char>,
    /// Here-documents, command substitutions, `${...}` or `$'...'`: quotes inside them do
    /// not pair up linearly, so an open quote is left to `sh -n` to judge.
    complex: bool,
}

/// A lexical pass over `command` following `sh`'s quoting rules: single quotes, double
/// quotes (where `\` escapes `$`, `` ` ``, `"`, `\` and a newline), backslash escapes, and
/// `#` comments at the start of a word. It is not a shell parser: it finds the first simple
/// command's words and whether a quote is left open, and gives up (marks `complex`) where
/// that would take one.
fn lex(command: &str) -> Lexed {
    enum Quote {
        None,
        Single,
        Double,
    }
    let mut out = Lexed::default();
    let mut quote = Quote::None;
    let mut word: Option<Word> = None;
    let mut first_done = false;
    // The next word is a redirection's target (`> log`), not part of the command.
    let mut target = false;
    let mut chars = command.chars().peekable();
    let finish = |word: &mut Option<Word>, out: &mut Lexed, first_done: bool, target: &mut bool| {
        if let Some(w) = word.take() {
            if *target {
                *target = false;
            } else if !first_done {
                out.words.push(w);
            }
        }
    };
    while let Some(c) = chars.next() {
        match quote {
            Quote::Single => {
                let w = word.get_or_insert_with(Word::default);
                w.raw.push(c);
                if c == '\'' {
                    quote = Quote::None;
                } else {
                    w.value.push(c);
                }
            }
            Quote::Double => {
                let w = word.get_or_insert_with(Word::default);
                w.raw.push(c);
                match c {
                    '"' => quote = Quote::None,
                    '\\' => match chars.peek() {
                        Some(&n @ ('$' | '`' | '"' | '\\' | '\n')) => {
                            chars.next();
                            w.raw.push(n);
                            if n != '\n' {
                                w.value.push(n);
                            }
                        }
                        _ => w.value.push(c),
                    },
                    '$' => {
                        w.computed = true;
                        w.value.push(c);
                        if matches!(chars.peek(), Some('(' | '{')) {
                            out.complex = true;
                        }
                    }
                    '`' => {
                        w.computed = true;
                        out.complex = true;
                        w.value.push(c);
                    }
                    _ => w.value.push(c),
                }
            }
            Quote::None => match c {
                ' ' | '\t' => finish(&mut word, &mut out, first_done, &mut target),
                '\n' => {
                    // Blank lines and comments before the first command are not a command.
                    let empty = word.is_none() && out.words.is_empty();
                    finish(&mut word, &mut out, first_done, &mut target);
                    if !empty {
                        first_done = true;
                    }
                }
                '#' if word.is_none() => {
                    while chars.peek().is_some_and(|&n| n != '\n') {
                        chars.next();
                    }
                }
                // A redirection, which may come before the command (`2>/dev/null ./l.sh`):
                // its file descriptor number and its target are no words of the command.
                '<' | '>' => {
                    if c == '<' && chars.peek() == Some(&'<') {
                        // A here-document: its body is not shell words.
                        out.complex = true;
                    }
                    let io_number = word.as_ref().is_some_and(|w| {
                        !w.raw.is_empty() && w.raw.bytes().all(|b| b.is_ascii_digit())
                    });
                    if io_number {
                        word = None;
                    } else {
                        finish(&mut word, &mut out, first_done, &mut target);
                    }
                    let mut duplicates = false;
                    while let Some(n) = chars.next_if(|n| matches!(n, '<' | '>' | '&' | '|')) {
                        duplicates |= n == '&';
                    }
                    // `<<-` strips tabs (a delimiter follows); `>&-` closes (nothing follows).
                    let closes = chars.next_if_eq(&'-').is_some() && duplicates;
                    target = !closes;
                }
                ';' | '&' | '|' | '(' | ')' => {
                    finish(&mut word, &mut out, first_done, &mut target);
                    if !first_done && out.words.is_empty() {
                        out.starts_with_syntax = true;
                    }
                    first_done = true;
                }
                // A line continuation: nothing, not even the end of a word.
                '\\' if chars.peek() == Some(&'\n') => {
                    chars.next();
                }
                _ => {
                    let fresh = word.is_none();
                    let w = word.get_or_insert_with(Word::default);
                    w.raw.push(c);
                    match c {
                        '\'' => quote = Quote::Single,
                        '"' => quote = Quote::Double,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                w.raw.push(n);
                                w.value.push(n);
                            }
                        }
                        '$' => {
                            w.computed = true;
                            w.value.push(c);
                            if matches!(chars.peek(), Some('(' | '{' | '\'')) {
                                out.complex = true;
                            }
                        }
                        '`' => {
                            w.computed = true;
                            out.complex = true;
                            w.value.push(c);
                        }
                        '*' | '?' | '[' => {
                            w.computed = true;
                            w.value.push(c);
                        }
                        '~' if fresh => {
                            w.computed = true;
                            w.value.push(c);
                        }
                        _ => w.value.push(c),
                    }
                }
            },
        }
    }
    finish(&mut word, &mut out, first_done, &mut target);
    if !out.complex {
        out.unterminated = match quote {
            Quote::None => None,
            Quote::Single => Some('\''),
            Quote::Double => Some('"'),
        };
    }
    out
}

/// Why a `launch` or `stop` value cannot be a command at all (checked at plan load): empty,
/// a NUL character, or a quote left open.
pub fn malformed(command: &str) -> Option<String> {
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
pub fn program_of(command: &str) -> Result<Program, String> {
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
pub fn resolve(program: &Program, cwd: &Path, path: Option<&OsStr>) -> Result<String, String> {
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

/// Parse the launcher's last stdout line. Every refusal quotes the line.
pub fn parse_launch_output(command: &str, stdout: &str) -> Result<Launched, LaunchError> {
    let bad = |detail: String| LaunchError::BadOutput {
        command: command.to_string(),
        detail,
    };
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| bad("nothing on stdout".into()))?
        .trim();
    let bad_line = |why: String| bad(format!("last line {}: {why}", quote_line(line)));
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| bad_line(format!("not JSON ({e})")))?;
    let serde_json::Value::Object(answer) = value else {
        return Err(bad_line("not a JSON object".into()));
    };
    let field = |name: &str| -> Result<Option<&str>, LaunchError> {
        match answer.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(bad_line(format!("{name} is {other}, not a string"))),
        }
    };
    // Hex of either case is the same id; the service lists it in lower case.
    let node_id = field("node_id")?.map(str::to_ascii_lowercase);
    if let Some(id) = &node_id
        && !is_hex_id(id)
    {
        return Err(bad_line(format!(
            "node_id {id:?} is not a node id (64 hex characters; this is {} characters{})",
            id.chars().count(),
            if id.chars().all(|c| c.is_ascii_hexdigit()) {
                ""
            } else {
                ", not all hex"
            }
        )));
    }
    let rpc_address = field("rpc_address")?
        .map(|s| node_address(s).map_err(|e| bad_line(format!("rpc_address: {e}"))))
        .transpose()?;
    if node_id.is_none() && rpc_address.is_none() {
        return Err(bad_line("neither node_id nor rpc_address".into()));
    }
    Ok(Launched {
        node_id,
        rpc_address,
    })
}

/// A launcher's line for a message: quoted, and cut if long.
fn quote_line(line: &str) -> String {
    const MAX: usize = 200;
    if line.chars().count() <= MAX {
        format!("{line:?}")
    } else {
        let cut: String = line.chars().take(MAX).collect();
        format!("{cut:?}… ({} characters)", line.chars().count())
    }
}

/// A node address a launcher reported: `host:port` (or `[v6]:port`, or with `https://`), its
/// host a name or an IP address, not text that merely has a colon in it.
fn node_address(s: &str) -> Result<NodeAddr, String> {
    let addr: NodeAddr = s.parse()?;
    let host = addr.host();
    let bracketed = s.trim().trim_start_matches("https://").starts_with('[');
    let ok = if bracketed {
        host.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.starts_with(['-', '.'])
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    if ok {
        Ok(addr)
    } else if !bracketed && host.contains(':') {
        Err(format!(
            "{s:?} is not host:port (write an IPv6 address as [addr]:port)"
        ))
    } else {
        Err(format!(
            "{s:?} is not host:port ({host:?} is not a host name or IP address)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_output() {
        let id = "a".repeat(64);
        let l = parse_launch_output(
            "x",
            &format!(
                "starting...\n{{\"node_id\": \"{id}\", \"rpc_address\": \"10.0.0.9:8000\"}}\n\n"
            ),
        )
        .unwrap();
        assert_eq!(l.node_id.as_deref(), Some(id.as_str()));
        assert_eq!(l.rpc_address, Some(NodeAddr::new("10.0.0.9", 8000)));
        assert!(
            parse_launch_output("x", "{\"rpc_address\": \"h:1\"}")
                .unwrap()
                .node_id
                .is_none()
        );
        for bad in [
            "",
            "garbage",
            "{}",
            "{\"node_id\": \"xyz\"}",
            "{\"rpc_address\": \"http://h:1\"}",
        ] {
            assert!(parse_launch_output("x", bad).is_err(), "{bad:?}");
        }
        // Upper-case hex is the same id.
        let upper = parse_launch_output("x", &format!("{{\"node_id\": \"{}\"}}", "AB".repeat(32)));
        assert_eq!(upper.unwrap().node_id, Some("ab".repeat(32)));
        let v6 = parse_launch_output("x", "{\"rpc_address\": \"[::1]:8000\"}").unwrap();
        assert_eq!(v6.rpc_address, Some(NodeAddr::new("::1", 8000)));
    }

    /// Each unusable last line is refused naming the command, quoting the line and saying
    /// what is wrong with it.
    #[test]
    fn launcher_output_refusals_name_the_command_and_quote_the_line() {
        let id = "a".repeat(64);
        let cases: &[(&str, &[&str])] = &[
            ("starting\nnot json", &["\"not json\"", "not JSON"]),
            ("[1, 2]", &["\"[1, 2]\"", "not a JSON object"]),
            ("42", &["\"42\"", "not a JSON object"]),
            ("{\"node_id\": 7}", &["node_id is 7, not a string"]),
            (
                "{\"node_id\": \"xyz\"}",
                &["node_id \"xyz\"", "3 characters", "not all hex"],
            ),
            ("{\"node_id\": \"abc\"}", &["3 characters"]),
            ("{\"node_id\": \"\"}", &["0 characters"]),
            (
                "{\"rpc_address\": \"10.0.0.1\"}",
                &["rpc_address", "no port"],
            ),
            (
                "{\"rpc_address\": \"h:99999\"}",
                &["rpc_address", "invalid port"],
            ),
            (
                "{\"rpc_address\": \"http://h:1\"}",
                &["rpc_address", "http://"],
            ),
            (
                "{\"rpc_address\": \"a b:80\"}",
                &["not host:port", "\"a b\""],
            ),
            (
                "{\"rpc_address\": \"::1:80\"}",
                &["not host:port", "[addr]:port"],
            ),
            ("{\"rpc_address\": \"[nope]:80\"}", &["not host:port"]),
            (
                "{\"rpc_address\": 8000}",
                &["rpc_address is 8000, not a string"],
            ),
            ("{\"id\": \"x\"}", &["neither node_id nor rpc_address"]),
        ];
        let mut cases = cases.to_vec();
        let long = format!(
            "{{\"node_id\": \"{id}\", \"rpc_address\": \"{}:1\"}}",
            "h ".repeat(200)
        );
        cases.push((&long, &["… (", "characters)"]));
        for (stdout, words) in cases {
            let e = parse_launch_output("./launch-node.sh --fast", stdout)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("launch command `./launch-node.sh --fast`"),
                "{e}"
            );
            let last = stdout.lines().last().unwrap();
            if last.len() <= 200 {
                assert!(
                    e.contains(&format!("{last:?}")),
                    "{stdout:?}: the line is not quoted: {e}"
                );
            }
            for w in words {
                assert!(e.contains(w), "{stdout:?}: no {w:?} in {e}");
            }
        }
    }

    #[test]
    fn launcher_program_is_the_first_word_after_assignments() {
        use Program::*;
        let path = |s: &str| Ok(Path(s.into()));
        let name = |s: &str| Ok(Name(s.into()));
        let cases: &[(&str, Result<Program, String>)] = &[
            ("./missing.sh", path("./missing.sh")),
            (
                "./launch-node.sh --count 3 > log 2>&1",
                path("./launch-node.sh"),
            ),
            ("/opt/bin/launch", path("/opt/bin/launch")),
            // The sandbox's ready plan (shell_quote) and the tests' host-data override.
            (
                "'/tmp/x y/noderoll' sandbox launch-node --dir '/tmp/x'",
                path("/tmp/x y/noderoll"),
            ),
            (
                "NODEROLL_HOST_DATA=abc123 '/p/noderoll' sandbox launch-node --dir '/tmp/x'",
                path("/p/noderoll"),
            ),
            ("A=1 B=\"x y\" C='z' ./l.sh", path("./l.sh")),
            ("\"./my launcher.sh\" a", path("./my launcher.sh")),
            ("./my\\ launcher.sh", path("./my launcher.sh")),
            ("'/it'\\''s/l'", path("/it's/l")),
            ("# a comment, isn't it\n\n./l.sh", path("./l.sh")),
            ("./l.sh # it's fine", path("./l.sh")),
            ("\\\n  ./l.sh", path("./l.sh")),
            ("launch-node", name("launch-node")),
            ("noderoll sandbox launch-node --dir .", name("noderoll")),
            ("env FOO=1 ./missing.sh", name("env")),
            ("sh ./not-executable.sh", name("sh")),
            ("ssh host ./launch.sh", name("ssh")),
            ("cat <<EOF\nit's\nEOF", name("cat")),
            ("cat <<-'EOF'\nit's\nEOF", name("cat")),
            // Redirections, before or after the command.
            ("2>/dev/null ./l.sh", path("./l.sh")),
            (">log 2>&1 ./l.sh a", path("./l.sh")),
            ("< in.json X=1 ./l.sh", path("./l.sh")),
            ("./l.sh >> log 2>&1", path("./l.sh")),
            ("./l.sh 2> err", path("./l.sh")),
            ("2>&- ./l.sh", path("./l.sh")),
        ];
        for (command, want) in cases {
            assert_eq!(&program_of(command), want, "{command:?}");
        }
        for unchecked in [
            "exec ./missing.sh",
            "command -v x",
            ". ./env.sh && ./l.sh",
            "'exec' ./x",
            "echo boom >&2; exit 3",
            "true",
            "cd sub && ./l.sh",
            "$LAUNCHER --fast",
            "\"$HOME/bin/launch\"",
            "`which launch`",
            "$(which launch) x",
            "(cd sub && ./l.sh)",
            "{ ./l.sh; }",
            "if true; then ./l.sh; fi",
            "! ./l.sh",
            "~/bin/launch",
            "./launch-*.sh",
            "PATH=/opt/bin:$PATH launch",
            "FOO=1",
            "echo \"$(echo \"it's\")\"",
        ] {
            assert!(
                matches!(program_of(unchecked), Ok(Unchecked(_))),
                "{unchecked:?}: {:?}",
                program_of(unchecked)
            );
        }
        for (bad, why) in [
            ("", "empty"),
            ("  \n ", "empty"),
            ("./l.sh 'oops", "' quote is never closed"),
            ("./l.sh \"oops", "\" quote is never closed"),
            ("echo \"it's", "\" quote is never closed"),
            ("./l\0.sh", "NUL"),
        ] {
            let e = program_of(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
            assert!(malformed(bad).is_some(), "{bad:?}");
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
