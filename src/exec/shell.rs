//! Running the operator's commands (launcher, hooks, notifications) through `sh -c`, with a
//! deadline, optional JSON on stdin, and the exit status and stderr captured for messages.

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
