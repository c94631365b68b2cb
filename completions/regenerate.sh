#!/usr/bin/env bash
# Regenerate the committed completion scripts and man pages from the clap definition.
# tests/it/generated.rs fails when these differ from what the binary generates.
set -euo pipefail
cd "$(dirname "$0")"
bin=${NODEROLL_BIN:-../target/debug/noderoll}
"$bin" completions bash > noderoll.bash
"$bin" completions zsh > _noderoll
"$bin" completions fish > noderoll.fish
"$bin" completions powershell > _noderoll.ps1
"$bin" completions elvish > noderoll.elv
# noderoll.1 and one page per command (noderoll-apply.1, ...): a page no command has any
# more is removed.
rm -f noderoll*.1
"$bin" man --dir .
