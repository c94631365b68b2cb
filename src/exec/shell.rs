//! Running the operator's commands (launcher, hooks, notifications) through `sh -c`, with a
//! deadline, optional JSON on stdin, and the exit status and stderr captured for messages;
//! and, before anything is written, whether they can start at all ([`startable`]).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// A command's result.
pub(crate) struct Ran {
    /// Exit status.
    pub status: std::process::ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// The end of standard error (for messages).
    pub stderr_tail: String,
}

impl Ran {
    /// The shell could not run the command at all: 127 (not found) or 126 (found, not
    /// executable), the statuses POSIX `sh` gives. A mistake in the plan file or on this
    /// machine, not something the service or a node did.
    pub(crate) fn cannot_run(&self) -> bool {
        matches!(self.status.code(), Some(126 | 127))
    }

    /// The failure as messages name it: the exit status, then the end of stderr in
    /// parentheses when there is any.
    pub(crate) fn failure(&self) -> String {
        match self.stderr_tail.trim() {
            "" => self.status.to_string(),
            tail => format!("{} ({tail})", self.status),
        }
    }
}

/// Run `command` in `cwd`; `Err` only when it cannot be started or exceeds `timeout`.
pub(crate) async fn run(
    command: &str,
    cwd: &Path,
    env: &[(&str, String)],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Ran, String> {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(cwd)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start it: {e}"))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A command that does not read its input closes the pipe early: not an error.
        let _ = pipe.write_all(input).await;
        let _ = pipe.shutdown().await;
    }
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| format!("no exit within {}s", timeout.as_secs_f64()))?
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: String = stderr
        .trim()
        .chars()
        .rev()
        .take(400)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Ok(Ran {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr_tail: tail,
    })
}

/// Preflight (nothing is run): whether each of `commands`, `(what, command)` such as
/// `("launch", …)` or `("hook before_retire", …)`, can start in `cwd`: `cwd` readable, valid
/// `sh` syntax, and the program the command starts (its first word, see
/// [`crate::shell_command::program_of`]) present and executable. `Ok` says what each
/// resolves to; `Err` names each command that cannot start, what is wrong and the fix.
pub(crate) async fn startable(cwd: &Path, commands: &[(String, &str)]) -> Result<String, String> {
    if let Err(e) = std::fs::read_dir(cwd) {
        return Err(format!(
            "the plan's directory {}, where its commands run, cannot be read ({e})",
            cwd.display()
        ));
    }
    // Absolute, for messages (the plan may have been named by a relative path).
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let path = std::env::var_os("PATH");
    let (mut found, mut problems) = (Vec::new(), Vec::new());
    for (what, command) in commands {
        let verdict = match syntax_check(command).await {
            Ok(()) => crate::shell_command::program_of(command)
                .and_then(|program| crate::shell_command::resolve(&program, &cwd, path.as_deref())),
            Err(e) => Err(e),
        };
        match verdict {
            Ok(resolved) => found.push(format!("{what}: {resolved}")),
            Err(e) => problems.push(format!("{what} command `{command}`: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(found.join("; "))
    } else {
        Err(problems.join("; "))
    }
}

/// `sh -n`: the shell parses the command without running anything, so a syntax error (an
/// unterminated quote, a dangling `&&`) is found before the first governance write.
async fn syntax_check(command: &str) -> Result<(), String> {
    let out = tokio::process::Command::new("sh")
        .args(["-n", "-c", command])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(10), out).await {
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => Err(format!(
            "not valid sh syntax ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(Err(e)) => Err(format!("cannot start sh to check it: {e}")),
        // A parse cannot hang; if it somehow does, the command itself will say more.
        Err(_) => Ok(()),
    }
}
