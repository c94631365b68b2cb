//! The committed shell completions and man pages are what the binary generates; regenerate
//! with `cargo build && bash completions/regenerate.sh`. The man page's EXIT STATUS is the
//! exit-code table of `--help` and the README, and its ENVIRONMENT names every variable.

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

const STALE: &str =
    "is stale: run `cargo build && bash completions/regenerate.sh` and commit the result";

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
        assert!(committed == generated(&args), "completions/{file} {STALE}");
    }
    let bash = generated(&["completions", "bash"]);
    assert!(bash.contains("complete -F") && bash.contains("apply") && bash.contains("sandbox"));
    assert!(generated(&["man"]).contains(".TH noderoll 1"));
}

/// The `.1` files of `dir`, by name.
fn pages_in(dir: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "1"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn every_page_the_man_page_refers_to_is_generated_and_committed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    generated(&["man", "--dir", out.to_str().unwrap()]);
    let pages = pages_in(&out);
    assert_eq!(pages["noderoll.1"], generated(&["man"]));
    for page in [
        "noderoll-apply.1",
        "noderoll-rollback.1",
        "noderoll-channel-check.1",
    ] {
        assert!(pages.contains_key(page), "{page}: {:?}", pages.keys());
    }
    // Every `noderoll-…(1)` named on a page is a page.
    for (name, text) in &pages {
        for (at, _) in text.match_indices("noderoll\\-") {
            let rest = &text[at..];
            let Some(end) = rest.find("(1)") else {
                continue;
            };
            let referred = format!("{}.1", rest[..end].replace("\\-", "-"));
            if !referred.contains(char::is_whitespace) {
                assert!(pages.contains_key(&referred), "{name} refers to {referred}");
            }
        }
    }
    let committed = pages_in(&repo_root().join("completions"));
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        pages.keys().collect::<Vec<_>>(),
        "the man pages {STALE}"
    );
    for (name, text) in &pages {
        assert!(committed[name] == *text, "completions/{name} {STALE}");
    }
}

/// `(name, value)` of every `pub(crate) const NAME: TYPE = VALUE;` in a source file.
fn constants(file: &str, ty: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_root().join("src").join(file)).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("pub(crate) const "))
        .filter_map(|l| {
            let (name, rest) = l.split_once(": ")?;
            let value = rest
                .strip_prefix(ty)?
                .strip_prefix(" = ")?
                .strip_suffix(';')?;
            Some((name.to_string(), value.trim_matches('"').to_string()))
        })
        // Names, not sentences.
        .filter(|(_, value)| !value.contains(' '))
        .collect()
}

/// The lines of a man page section.
fn section<'a>(page: &'a str, heading: &str) -> &'a str {
    let start = page
        .find(&format!(".SH {heading}\n"))
        .unwrap_or_else(|| panic!("no {heading} section in\n{page}"));
    let rest = &page[start + 1..];
    &rest[..rest.find("\n.SH ").unwrap_or(rest.len())]
}

#[test]
fn the_man_page_has_exit_status_and_environment() {
    let page = generated(&["man"]);
    let exit_status = section(&page, "\"EXIT STATUS\"");
    let codes = constants("exit_codes.rs", "u8");
    assert!(codes.len() >= 10, "{codes:?}");
    for (name, code) in &codes {
        assert!(
            exit_status.contains(&format!("\n\\fB{code}\\fR\n")),
            "{name} = {code} is not in\n{exit_status}"
        );
    }
    let environment = section(&page, "ENVIRONMENT");
    let vars = constants("env_vars.rs", "&str");
    assert!(vars.len() >= 9, "{vars:?}");
    for (name, var) in &vars {
        assert!(
            environment.contains(&format!("\\fB{var}\\fR")),
            "{name} = {var} is not in\n{environment}"
        );
    }
}

#[test]
fn the_readme_exit_code_table_is_the_man_pages() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let table = &readme[readme.find("## Exit codes").unwrap()..];
    let readme_rows: Vec<String> = table
        .lines()
        .skip_while(|l| !l.starts_with("|---"))
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                cells[0],
                cells[1].replace('`', "").replace('-', "\\-")
            )
        })
        .collect();
    let page = generated(&["man"]);
    let exit_status = section(&page, "\"EXIT STATUS\"");
    assert_eq!(
        readme_rows.concat().trim_end(),
        exit_status.split_once('\n').unwrap().1.trim_end()
    );
}

#[test]
fn no_completion_offers_the_hidden_supervised_flag() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = generated(&["completions", shell]);
        assert!(!script.contains("supervised"), "{shell}");
        let committed = std::fs::read_dir(repo_root().join("completions")).unwrap();
        for f in committed {
            let path = f.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains("supervised"), "{}", path.display());
        }
    }
    assert!(!generated(&["--help"]).contains("supervised"));
    // The parser still knows it (`noderoll watch` runs its children with it).
    generated(&["--supervised", "man"]);
}
