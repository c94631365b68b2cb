//! The launch command's answer: its last stdout line, checked field by field.

use super::LaunchError;
use crate::ccf::NodeAddr;
use crate::ccf::types::is_hex_id;
use crate::plan::Launched;

/// Parse the launcher's last stdout line. Every refusal quotes the line.
pub(crate) fn parse_launch_output(command: &str, stdout: &str) -> Result<Launched, LaunchError> {
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
}
