//! The committed shell completions and man page are what the binary generates; regenerate with
//! `cargo build && bash completions/regenerate.sh`.

use std::process::Command;

use crate::common::repo_root;

fn generated(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_noderoll"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn committed_completions_and_man_page_are_current() {
    let cases = [
        (vec!["completions", "bash"], "noderoll.bash"),
        (vec!["completions", "zsh"], "_noderoll"),
        (vec!["completions", "fish"], "noderoll.fish"),
        (vec!["completions", "powershell"], "_noderoll.ps1"),
        (vec!["completions", "elvish"], "noderoll.elv"),
        (vec!["man"], "noderoll.1"),
    ];
    for (args, file) in cases {
        let path = repo_root().join("completions").join(file);
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == generated(&args),
            "completions/{file} is stale: run `cargo build && bash completions/regenerate.sh` and commit the result"
        );
    }
    let bash = generated(&["completions", "bash"]);
    assert!(bash.contains("complete -F") && bash.contains("apply") && bash.contains("sandbox"));
    assert!(generated(&["man"]).contains(".TH noderoll 1"));
}
