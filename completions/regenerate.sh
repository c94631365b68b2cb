#!/usr/bin/env bash
# Regenerate the committed completion scripts and man page from the clap definition.
# tests/it/generated.rs fails when these differ from what the binary generates.
set -euo pipefail
cd "$(dirname "$0")"
bin=${NODEROLL_BIN:-../target/debug/noderoll}
"$bin" completions bash > noderoll.bash
"$bin" completions zsh > _noderoll
"$bin" completions fish > noderoll.fish
"$bin" completions powershell > _noderoll.ps1
"$bin" completions elvish > noderoll.elv
"$bin" man > noderoll.1
