
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'noderoll' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'noderoll'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'noderoll' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show every node (status, primary, address, version, retirement), fault tolerance, registered code versions and open proposals. Read-only')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Preview the upgrade a plan file asks for: each step, the nodes it touches, the node count and fault tolerance after it, and its gate. Changes nothing')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Perform the upgrade: a plan file (asks for confirmation unless --yes), or a plan saved by `plan --out` (refused if the service changed since)')
            [CompletionResult]::new('finalize', 'finalize', [CompletionResultType]::ParameterValue, 'Remove the old code version once the rest of the upgrade is done: the point of no return, for plans with `[safety] finalize = "manual"`. Refused while other steps remain')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Go back to the previous version: before any old node was retired, remove the new nodes; after, launch nodes of the previous build in their place. Then deregister the plan''s target. Impossible once the upgrade was finalized')
            [CompletionResult]::new('journal', 'journal', [CompletionResultType]::ParameterValue, 'Show this service''s journal: runs, launched nodes, proposals, steps, outcomes')
            [CompletionResult]::new('channel', 'channel', [CompletionResultType]::ParameterValue, 'Release channels: which release on a channel this service should run')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Keep services on a release channel, unattended: resume any upgrade left unfinished, then every interval read the channel and upgrade each service that is behind (inside its [watch] windows, one upgrade per service, at most --max-concurrent at once), with each plan''s own safety settings, rollback and notifications. SIGTERM or Ctrl-C stops at a safe point')
            [CompletionResult]::new('vote', 'vote', [CompletionResultType]::ParameterValue, 'Show a proposal''s actions and vote for it as each configured member')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'The whole upgrade against a built-in sandbox, with live progress: no arguments needed')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page noderoll(1) (roff), or write it and every command''s page (noderoll-apply(1), …) into a directory')
            [CompletionResult]::new('sandbox', 'sandbox', [CompletionResultType]::ParameterValue, 'Run the built-in simulated CCF service on 127.0.0.1 until Ctrl-C, or act on a running one (launch or stop a node, inject a fault, check invariants)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'noderoll;status' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'Plan file whose `[service]` table names the service')
            [CompletionResult]::new('--service-url', '--service-url', [CompletionResultType]::ParameterName, 'A node of the service, `host:port` or `https://host:port` (repeat or comma-separate for several; the first that answers is used)')
            [CompletionResult]::new('--service-cert', '--service-cert', [CompletionResultType]::ParameterName, 'The service certificate (`service_cert.pem`): the only TLS root trusted')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'With --watch: exit 0 once this holds (`upgraded` needs --plan with a [target])')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'With --watch: how often to look (e.g. 2s, 500ms)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'With --watch: give up after this long (exit 3), e.g. 10m')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'The state directory, where the service''s node addresses are kept after each look and tried when none of the given addresses answers [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Keep watching: redraw whenever the service changes (Ctrl-C to stop)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;plan' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The plan file')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Save the plan for `noderoll apply FILE`')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'The state directory whose journal says what this machine''s runs left unfinished [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 0 when there is nothing to do, 2 when there are changes, 8 when only finalize is left')
            [CompletionResult]::new('--allow-downgrade', '--allow-downgrade', [CompletionResultType]::ParameterName, 'Allow a target ccf_version older than what the service runs')
            [CompletionResult]::new('--allow-version-jump', '--allow-version-jump', [CompletionResultType]::ParameterName, 'Allow a target that skips a major version (CCF supports N to N+1 only)')
            [CompletionResult]::new('--retry-failed-target', '--retry-failed-target', [CompletionResultType]::ParameterName, 'Plan a target that failed before and was rolled back, as `apply --retry-failed-target` would apply it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;apply' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The plan file')
            [CompletionResult]::new('--adopt', '--adopt', [CompletionResultType]::ParameterName, 'Continue an upgrade this machine has no journal of (started on another machine, or whose state directory is lost). Alone: every Pending node attesting the target is taken over, mixed builds and the configured members'' open proposals are accepted as that upgrade''s. With node ids (or unique prefixes of 8+ characters; repeat or comma-separate): only those Pending nodes are taken over')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where per-service state (the run lock) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--allow-downgrade', '--allow-downgrade', [CompletionResultType]::ParameterName, 'Allow a target ccf_version older than what the service runs')
            [CompletionResult]::new('--allow-version-jump', '--allow-version-jump', [CompletionResultType]::ParameterName, 'Allow a target that skips a major version (CCF supports N to N+1 only)')
            [CompletionResult]::new('--retry-failed-target', '--retry-failed-target', [CompletionResultType]::ParameterName, 'Try a target that failed before and was rolled back (the journal remembers it)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;finalize' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The plan file')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where per-service state (the run lock) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;rollback' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The plan file whose target is given up')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where per-service state (the run lock) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what the rollback would do and change nothing (exit 0: nothing to roll back, 2: steps to run)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;journal' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'Plan file whose `[service]` table names the service')
            [CompletionResult]::new('--service-url', '--service-url', [CompletionResultType]::ParameterName, 'A node of the service, `host:port` or `https://host:port` (repeat or comma-separate for several; the first that answers is used)')
            [CompletionResult]::new('--service-cert', '--service-cert', [CompletionResultType]::ParameterName, 'The service certificate (`service_cert.pem`): the only TLS root trusted')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'The state directory [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;channel' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Compare the channel''s newest eligible release with what the service runs (version guard rules: no downgrade, no skipped major version). Exit 0: current; 2: an upgrade is available (its [target] table is printed), or one is in progress. Read-only')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Upgrade the service to the channel''s newest eligible release: its package (if the manifest names one) is downloaded and verified first and handed to the launcher as NODEROLL_PACKAGE; then the same run as `apply` with the release as [target]. An upgrade this machine left unfinished on the service is finished first (and alone)')
            [CompletionResult]::new('clear-failed', 'clear-failed', [CompletionResultType]::ParameterValue, 'Forget which releases failed on this service, so `check` and `apply` consider them again. Prints what was cleared')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'noderoll;channel;check' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The plan file: service, members, launcher, safety (its [target] may be absent)')
            [CompletionResult]::new('--channel', '--channel', [CompletionResultType]::ParameterName, 'The channel manifest: an `https://` URL or a local file')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust only this CA (PEM) for `https://` channels and packages instead of the system''s roots')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where per-service state (lock, journal with the releases that failed here, package cache) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;channel;apply' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The plan file: service, members, launcher, safety (its [target] may be absent)')
            [CompletionResult]::new('--channel', '--channel', [CompletionResultType]::ParameterName, 'The channel manifest: an `https://` URL or a local file')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust only this CA (PEM) for `https://` channels and packages instead of the system''s roots')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where per-service state (lock, journal with the releases that failed here, package cache) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required without a terminal)')
            [CompletionResult]::new('--retry-failed-target', '--retry-failed-target', [CompletionResultType]::ParameterName, 'Consider releases that failed on this service before')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;channel;clear-failed' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The plan file naming the service')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'The state directory [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;channel;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Compare the channel''s newest eligible release with what the service runs (version guard rules: no downgrade, no skipped major version). Exit 0: current; 2: an upgrade is available (its [target] table is printed), or one is in progress. Read-only')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Upgrade the service to the channel''s newest eligible release: its package (if the manifest names one) is downloaded and verified first and handed to the launcher as NODEROLL_PACKAGE; then the same run as `apply` with the release as [target]. An upgrade this machine left unfinished on the service is finished first (and alone)')
            [CompletionResult]::new('clear-failed', 'clear-failed', [CompletionResultType]::ParameterValue, 'Forget which releases failed on this service, so `check` and `apply` consider them again. Prints what was cleared')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'noderoll;channel;help;check' {
            break
        }
        'noderoll;channel;help;apply' {
            break
        }
        'noderoll;channel;help;clear-failed' {
            break
        }
        'noderoll;channel;help;help' {
            break
        }
        'noderoll;watch' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'A plan file naming a service (repeat for several services; each plan''s [target] may be absent: the channel supplies it)')
            [CompletionResult]::new('--channel', '--channel', [CompletionResultType]::ParameterName, 'The channel manifest: an `https://` URL or a local file (read again every interval)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust only this CA (PEM) for `https://` channels and packages instead of the system''s roots')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between two looks at the channel (e.g. 10m, 1h, 30s)')
            [CompletionResult]::new('--max-concurrent', '--max-concurrent', [CompletionResultType]::ParameterName, 'Upgrades running at the same time, at most (each service has at most one)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where per-service state (locks, journals, package cache) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'Look once (after resuming what was left unfinished), wait for the upgrades it started, then exit: for cron jobs. Exit code: the first failure''s, else 0')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;vote' {
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The plan file: `[service]` and `[[members]]` are all a vote needs')
            [CompletionResult]::new('--settle', '--settle', [CompletionResultType]::ParameterName, 'With --follow: how long the service must show no upgrade in progress before it is over (default 30s)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'With --follow: give up after this long (exit 3; default 6h)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'The state directory: where this machine last saw the service''s nodes, tried when none of the plan''s addresses answers [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Vote without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Vote without asking')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Vote yes on each proposal of the upgrade in progress as it appears (only those whose every action is one an upgrade proposes), until the upgrade is over; Ctrl-C stops')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;demo' {
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'Nodes of the demo service')
            [CompletionResult]::new('--speed', '--speed', [CompletionResultType]::ParameterName, 'Speed of the simulated service (2 = twice as fast)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Platform of the simulated builds')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Keep the sandbox''s files here (default: a temporary directory, removed afterwards)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;completions' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;man' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write every page (noderoll.1, noderoll-apply.1, …) into this directory (created if missing) instead of printing noderoll.1')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;sandbox' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory for service_cert.pem, member identities, sandbox.json and a ready plan')
            [CompletionResult]::new('--nodes', '--nodes', [CompletionResultType]::ParameterName, 'Nodes at start (1–64)')
            [CompletionResult]::new('--members', '--members', [CompletionResultType]::ParameterName, 'Members, all Active (1–32)')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the latency model (same seed, same delays)')
            [CompletionResult]::new('--speed', '--speed', [CompletionResultType]::ParameterName, 'Divide every simulated latency by this (2 = twice as fast)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Platform of the simulated builds')
            [CompletionResult]::new('--startup-seqno', '--startup-seqno', [CompletionResultType]::ParameterName, 'The nodes at start started from a snapshot at this seqno (0: none): joiners with an older snapshot (or none) are refused with StartupSeqnoIsOld')
            [CompletionResult]::new('--stale-retired', '--stale-retired', [CompletionResultType]::ParameterName, 'Start as a recovered service whose node table keeps N Retired nodes from before the disaster recovery that never become removable (CCF issue #6604)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('--uvm', '--uvm', [CompletionResultType]::ParameterName, 'With --platform snp: nodes present UVM endorsements (Azure confidential containers) and are admitted by them, not by measurement')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('launch-node', 'launch-node', [CompletionResultType]::ParameterValue, 'Launcher contract: start a node of the build with NODEROLL_HOST_DATA and print `{"node_id": ..., "rpc_address": ...}`')
            [CompletionResult]::new('stop-node', 'stop-node', [CompletionResultType]::ParameterValue, 'Launcher contract: stop the node NODEROLL_NODE_ID (or NODEROLL_NODE_RPC_ADDRESS)')
            [CompletionResult]::new('fault', 'fault', [CompletionResultType]::ParameterValue, 'Inject a fault')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Print the invariant violations recorded so far (exit 3 if there are any)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'noderoll;sandbox;launch-node' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The directory given to `noderoll sandbox --dir`')
            [CompletionResult]::new('--host-data', '--host-data', [CompletionResultType]::ParameterName, 'Host data of the build to run (default: the sandbox''s next build)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Platform (default: the sandbox''s)')
            [CompletionResult]::new('--ccf-version', '--ccf-version', [CompletionResultType]::ParameterName, 'Version the node reports (default: that of the known build with this host data)')
            [CompletionResult]::new('--uvm-svn', '--uvm-svn', [CompletionResultType]::ParameterName, 'SNP: the node presents a UVM endorsement with this SVN (the sandbox''s DID and feed)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The launch''s name, carried in the node''s node_data as `noderoll_name`')
            [CompletionResult]::new('--snapshot-name', '--snapshot-name', [CompletionResultType]::ParameterName, 'Start from this committed snapshot (downloaded as `GET /node/snapshot/{name}` would; default: none, so the node''s startup seqno is 0)')
            [CompletionResult]::new('--snapshot-seqno', '--snapshot-seqno', [CompletionResultType]::ParameterName, 'Start from a snapshot at this seqno (without --snapshot-name: one the operator copied)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;sandbox;stop-node' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The directory given to `noderoll sandbox --dir`')
            [CompletionResult]::new('--node-id', '--node-id', [CompletionResultType]::ParameterName, 'Node id')
            [CompletionResult]::new('--rpc-address', '--rpc-address', [CompletionResultType]::ParameterName, 'Node RPC address (used when no id is given)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The launch''s name (used when neither id nor address is given: a launch whose node was never reported); nothing to do if no node was launched under it')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;sandbox;fault' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The directory given to `noderoll sandbox --dir`')
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'Node id or address (kill, partition, heal)')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Count (fail-next)')
            [CompletionResult]::new('--fraction', '--fraction', [CompletionResultType]::ParameterName, 'Fraction 0–1 (fail-fraction)')
            [CompletionResult]::new('--ms', '--ms', [CompletionResultType]::ParameterName, 'Milliseconds (latency)')
            [CompletionResult]::new('--factor', '--factor', [CompletionResultType]::ParameterName, 'Factor (slow-elections)')
            [CompletionResult]::new('--secs', '--secs', [CompletionResultType]::ParameterName, 'Seconds (clock-skew)')
            [CompletionResult]::new('--member-id', '--member-id', [CompletionResultType]::ParameterName, 'Member id (member-status)')
            [CompletionResult]::new('--active', '--active', [CompletionResultType]::ParameterName, 'Active or not (member-status)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;sandbox;check' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The directory given to `noderoll sandbox --dir`')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: `human` tables or one `json` document')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less output (errors only on stderr)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v: debug, -vv: trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'noderoll;sandbox;help' {
            [CompletionResult]::new('launch-node', 'launch-node', [CompletionResultType]::ParameterValue, 'Launcher contract: start a node of the build with NODEROLL_HOST_DATA and print `{"node_id": ..., "rpc_address": ...}`')
            [CompletionResult]::new('stop-node', 'stop-node', [CompletionResultType]::ParameterValue, 'Launcher contract: stop the node NODEROLL_NODE_ID (or NODEROLL_NODE_RPC_ADDRESS)')
            [CompletionResult]::new('fault', 'fault', [CompletionResultType]::ParameterValue, 'Inject a fault')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Print the invariant violations recorded so far (exit 3 if there are any)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'noderoll;sandbox;help;launch-node' {
            break
        }
        'noderoll;sandbox;help;stop-node' {
            break
        }
        'noderoll;sandbox;help;fault' {
            break
        }
        'noderoll;sandbox;help;check' {
            break
        }
        'noderoll;sandbox;help;help' {
            break
        }
        'noderoll;help' {
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show every node (status, primary, address, version, retirement), fault tolerance, registered code versions and open proposals. Read-only')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Preview the upgrade a plan file asks for: each step, the nodes it touches, the node count and fault tolerance after it, and its gate. Changes nothing')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Perform the upgrade: a plan file (asks for confirmation unless --yes), or a plan saved by `plan --out` (refused if the service changed since)')
            [CompletionResult]::new('finalize', 'finalize', [CompletionResultType]::ParameterValue, 'Remove the old code version once the rest of the upgrade is done: the point of no return, for plans with `[safety] finalize = "manual"`. Refused while other steps remain')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Go back to the previous version: before any old node was retired, remove the new nodes; after, launch nodes of the previous build in their place. Then deregister the plan''s target. Impossible once the upgrade was finalized')
            [CompletionResult]::new('journal', 'journal', [CompletionResultType]::ParameterValue, 'Show this service''s journal: runs, launched nodes, proposals, steps, outcomes')
            [CompletionResult]::new('channel', 'channel', [CompletionResultType]::ParameterValue, 'Release channels: which release on a channel this service should run')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Keep services on a release channel, unattended: resume any upgrade left unfinished, then every interval read the channel and upgrade each service that is behind (inside its [watch] windows, one upgrade per service, at most --max-concurrent at once), with each plan''s own safety settings, rollback and notifications. SIGTERM or Ctrl-C stops at a safe point')
            [CompletionResult]::new('vote', 'vote', [CompletionResultType]::ParameterValue, 'Show a proposal''s actions and vote for it as each configured member')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'The whole upgrade against a built-in sandbox, with live progress: no arguments needed')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page noderoll(1) (roff), or write it and every command''s page (noderoll-apply(1), …) into a directory')
            [CompletionResult]::new('sandbox', 'sandbox', [CompletionResultType]::ParameterValue, 'Run the built-in simulated CCF service on 127.0.0.1 until Ctrl-C, or act on a running one (launch or stop a node, inject a fault, check invariants)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'noderoll;help;status' {
            break
        }
        'noderoll;help;plan' {
            break
        }
        'noderoll;help;apply' {
            break
        }
        'noderoll;help;finalize' {
            break
        }
        'noderoll;help;rollback' {
            break
        }
        'noderoll;help;journal' {
            break
        }
        'noderoll;help;channel' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Compare the channel''s newest eligible release with what the service runs (version guard rules: no downgrade, no skipped major version). Exit 0: current; 2: an upgrade is available (its [target] table is printed), or one is in progress. Read-only')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Upgrade the service to the channel''s newest eligible release: its package (if the manifest names one) is downloaded and verified first and handed to the launcher as NODEROLL_PACKAGE; then the same run as `apply` with the release as [target]. An upgrade this machine left unfinished on the service is finished first (and alone)')
            [CompletionResult]::new('clear-failed', 'clear-failed', [CompletionResultType]::ParameterValue, 'Forget which releases failed on this service, so `check` and `apply` consider them again. Prints what was cleared')
            break
        }
        'noderoll;help;channel;check' {
            break
        }
        'noderoll;help;channel;apply' {
            break
        }
        'noderoll;help;channel;clear-failed' {
            break
        }
        'noderoll;help;watch' {
            break
        }
        'noderoll;help;vote' {
            break
        }
        'noderoll;help;demo' {
            break
        }
        'noderoll;help;completions' {
            break
        }
        'noderoll;help;man' {
            break
        }
        'noderoll;help;sandbox' {
            [CompletionResult]::new('launch-node', 'launch-node', [CompletionResultType]::ParameterValue, 'Launcher contract: start a node of the build with NODEROLL_HOST_DATA and print `{"node_id": ..., "rpc_address": ...}`')
            [CompletionResult]::new('stop-node', 'stop-node', [CompletionResultType]::ParameterValue, 'Launcher contract: stop the node NODEROLL_NODE_ID (or NODEROLL_NODE_RPC_ADDRESS)')
            [CompletionResult]::new('fault', 'fault', [CompletionResultType]::ParameterValue, 'Inject a fault')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Print the invariant violations recorded so far (exit 3 if there are any)')
            break
        }
        'noderoll;help;sandbox;launch-node' {
            break
        }
        'noderoll;help;sandbox;stop-node' {
            break
        }
        'noderoll;help;sandbox;fault' {
            break
        }
        'noderoll;help;sandbox;check' {
            break
        }
        'noderoll;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
