# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_noderoll_global_optspecs
    string join \n output= q/quiet v/verbose h/help V/version
end

function __fish_noderoll_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_noderoll_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_noderoll_using_subcommand
    set -l cmd (__fish_noderoll_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c noderoll -n "__fish_noderoll_needs_command" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_needs_command" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_needs_command" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_needs_command" -s V -l version -d 'Print version'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "status" -d 'Show every node (status, primary, address, version, retirement), fault tolerance, registered code versions and open proposals. Read-only'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "plan" -d 'Preview the upgrade a plan file asks for: each step, the nodes it touches, the node count and fault tolerance after it, and its gate. Changes nothing'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "apply" -d 'Perform the upgrade: a plan file (asks for confirmation unless --yes), or a plan saved by `plan --out` (refused if the service changed since)'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "finalize" -d 'Remove the old code version once the rest of the upgrade is done: the point of no return, for plans with `[safety] finalize = "manual"`. Refused while other steps remain'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "rollback" -d 'Go back to the previous version: before any old node was retired, remove the new nodes; after, launch nodes of the previous build in their place. Then deregister the plan\'s target. Impossible once the upgrade was finalized'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "journal" -d 'Show this service\'s journal: runs, launched nodes, proposals, steps, outcomes'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "channel" -d 'Release channels: which release on a channel this service should run'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "watch" -d 'Keep services on a release channel, unattended: resume any upgrade left unfinished, then every interval read the channel and upgrade each service that is behind (inside its [watch] windows, one upgrade per service, at most --max-concurrent at once), with each plan\'s own safety settings, rollback and notifications. SIGTERM or Ctrl-C stops at a safe point'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "vote" -d 'Show a proposal\'s actions and vote for it as each configured member'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "demo" -d 'The whole upgrade against a built-in sandbox, with live progress: no arguments needed'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "man" -d 'Print the man page noderoll(1) (roff), or write it and every command\'s page (noderoll-apply(1), …) into a directory'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "sandbox" -d 'Run the built-in simulated CCF service on 127.0.0.1 until Ctrl-C, or act on a running one (launch or stop a node, inject a fault, check invariants)'
complete -c noderoll -n "__fish_noderoll_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -l plan -d 'Plan file whose `[service]` table names the service' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -l service-url -d 'A node of the service, `host:port` or `https://host:port` (repeat or comma-separate for several; the first that answers is used)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -l service-cert -d 'The service certificate (`service_cert.pem`): the only TLS root trusted' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -l until -d 'With --watch: exit 0 once this holds (`upgraded` needs --plan with a [target])' -r -f -a "upgraded\t'Every node runs the plan\'s target, nothing is Pending or Retired, and only the target code version is registered (what a second `apply` would call "nothing to do")'"
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -l interval -d 'With --watch: how often to look (e.g. 2s, 500ms)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -l timeout -d 'With --watch: give up after this long (exit 3), e.g. 10m' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -l state-dir -d 'The state directory, where the service\'s node addresses are kept after each look and tried when none of the given addresses answers [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -l watch -d 'Keep watching: redraw whenever the service changes (Ctrl-C to stop)'
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -l plan -d 'The plan file' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -l out -d 'Save the plan for `noderoll apply FILE`' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -l state-dir -d 'The state directory whose journal says what this machine\'s runs left unfinished [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -l detailed-exitcode -d 'Exit 0 when there is nothing to do, 2 when there are changes, 8 when only finalize is left'
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -l allow-downgrade -d 'Allow a target ccf_version older than what the service runs'
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -l allow-version-jump -d 'Allow a target that skips a major version (CCF supports N to N+1 only)'
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -l retry-failed-target -d 'Plan a target that failed before and was rolled back, as `apply --retry-failed-target` would apply it'
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -l plan -d 'The plan file' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -l adopt -d 'Continue an upgrade this machine has no journal of (started on another machine, or whose state directory is lost). Alone: every Pending node attesting the target is taken over, mixed builds and the configured members\' open proposals are accepted as that upgrade\'s. With node ids (or unique prefixes of 8+ characters; repeat or comma-separate): only those Pending nodes are taken over' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -l state-dir -d 'Where per-service state (the run lock) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -s y -l yes -d 'Do not ask for confirmation (required without a terminal)'
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -l allow-downgrade -d 'Allow a target ccf_version older than what the service runs'
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -l allow-version-jump -d 'Allow a target that skips a major version (CCF supports N to N+1 only)'
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -l retry-failed-target -d 'Try a target that failed before and was rolled back (the journal remembers it)'
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand finalize" -l plan -d 'The plan file' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand finalize" -l state-dir -d 'Where per-service state (the run lock) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand finalize" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand finalize" -s y -l yes -d 'Do not ask for confirmation (required without a terminal)'
complete -c noderoll -n "__fish_noderoll_using_subcommand finalize" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand finalize" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand finalize" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand rollback" -l plan -d 'The plan file whose target is given up' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand rollback" -l state-dir -d 'Where per-service state (the run lock) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand rollback" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand rollback" -s y -l yes -d 'Do not ask for confirmation (required without a terminal)'
complete -c noderoll -n "__fish_noderoll_using_subcommand rollback" -l dry-run -d 'Show what the rollback would do and change nothing (exit 0: nothing to roll back, 2: steps to run)'
complete -c noderoll -n "__fish_noderoll_using_subcommand rollback" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand rollback" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand journal" -l plan -d 'Plan file whose `[service]` table names the service' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand journal" -l service-url -d 'A node of the service, `host:port` or `https://host:port` (repeat or comma-separate for several; the first that answers is used)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand journal" -l service-cert -d 'The service certificate (`service_cert.pem`): the only TLS root trusted' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand journal" -l state-dir -d 'The state directory [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand journal" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand journal" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand journal" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand journal" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and not __fish_seen_subcommand_from check apply clear-failed help" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and not __fish_seen_subcommand_from check apply clear-failed help" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and not __fish_seen_subcommand_from check apply clear-failed help" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and not __fish_seen_subcommand_from check apply clear-failed help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and not __fish_seen_subcommand_from check apply clear-failed help" -f -a "check" -d 'Compare the channel\'s newest eligible release with what the service runs (version guard rules: no downgrade, no skipped major version). Exit 0: current; 2: an upgrade is available (its [target] table is printed), or one is in progress. Read-only'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and not __fish_seen_subcommand_from check apply clear-failed help" -f -a "apply" -d 'Upgrade the service to the channel\'s newest eligible release: its package (if the manifest names one) is downloaded and verified first and handed to the launcher as NODEROLL_PACKAGE; then the same run as `apply` with the release as [target]. An upgrade this machine left unfinished on the service is finished first (and alone)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and not __fish_seen_subcommand_from check apply clear-failed help" -f -a "clear-failed" -d 'Forget which releases failed on this service, so `check` and `apply` consider them again. Prints what was cleared'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and not __fish_seen_subcommand_from check apply clear-failed help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from check" -l plan -d 'The plan file: service, members, launcher, safety (its [target] may be absent)' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from check" -l channel -d 'The channel manifest: an `https://` URL or a local file' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from check" -l ca -d 'Trust only this CA (PEM) for `https://` channels and packages instead of the system\'s roots' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from check" -l state-dir -d 'Where per-service state (lock, journal with the releases that failed here, package cache) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from check" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from apply" -l plan -d 'The plan file: service, members, launcher, safety (its [target] may be absent)' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from apply" -l channel -d 'The channel manifest: an `https://` URL or a local file' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from apply" -l ca -d 'Trust only this CA (PEM) for `https://` channels and packages instead of the system\'s roots' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from apply" -l state-dir -d 'Where per-service state (lock, journal with the releases that failed here, package cache) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from apply" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from apply" -s y -l yes -d 'Do not ask for confirmation (required without a terminal)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from apply" -l retry-failed-target -d 'Consider releases that failed on this service before'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from apply" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from apply" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from clear-failed" -l plan -d 'The plan file naming the service' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from clear-failed" -l state-dir -d 'The state directory [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from clear-failed" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from clear-failed" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from clear-failed" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from clear-failed" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from help" -f -a "check" -d 'Compare the channel\'s newest eligible release with what the service runs (version guard rules: no downgrade, no skipped major version). Exit 0: current; 2: an upgrade is available (its [target] table is printed), or one is in progress. Read-only'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from help" -f -a "apply" -d 'Upgrade the service to the channel\'s newest eligible release: its package (if the manifest names one) is downloaded and verified first and handed to the launcher as NODEROLL_PACKAGE; then the same run as `apply` with the release as [target]. An upgrade this machine left unfinished on the service is finished first (and alone)'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from help" -f -a "clear-failed" -d 'Forget which releases failed on this service, so `check` and `apply` consider them again. Prints what was cleared'
complete -c noderoll -n "__fish_noderoll_using_subcommand channel; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -l plan -d 'A plan file naming a service (repeat for several services; each plan\'s [target] may be absent: the channel supplies it)' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -l channel -d 'The channel manifest: an `https://` URL or a local file (read again every interval)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -l ca -d 'Trust only this CA (PEM) for `https://` channels and packages instead of the system\'s roots' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -l interval -d 'Time between two looks at the channel (e.g. 10m, 1h, 30s)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -l max-concurrent -d 'Upgrades running at the same time, at most (each service has at most one)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -l state-dir -d 'Where per-service state (locks, journals, package cache) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -l once -d 'Look once (after resuming what was left unfinished), wait for the upgrades it started, then exit: for cron jobs. Exit code: the first failure\'s, else 0'
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand vote" -l plan -d 'The plan file: `[service]` and `[[members]]` are all a vote needs' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand vote" -l settle -d 'With --follow: how long the service must show no upgrade in progress before it is over (default 30s)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand vote" -l timeout -d 'With --follow: give up after this long (exit 3; default 6h)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand vote" -l state-dir -d 'The state directory: where this machine last saw the service\'s nodes, tried when none of the plan\'s addresses answers [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand vote" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand vote" -s y -l yes -d 'Vote without asking'
complete -c noderoll -n "__fish_noderoll_using_subcommand vote" -l follow -d 'Vote yes on each proposal of the upgrade in progress as it appears (only those whose every action is one an upgrade proposes), until the upgrade is over; Ctrl-C stops'
complete -c noderoll -n "__fish_noderoll_using_subcommand vote" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand vote" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand vote" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand demo" -l nodes -d 'Nodes of the demo service' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand demo" -l speed -d 'Speed of the simulated service (2 = twice as fast)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand demo" -l platform -d 'Platform of the simulated builds' -r -f -a "virtual\t'Virtual (host data = SHA-256 of the package)'
snp\t'AMD SEV-SNP (measurement + host data = SHA-256 of the security policy)'"
complete -c noderoll -n "__fish_noderoll_using_subcommand demo" -l dir -d 'Keep the sandbox\'s files here (default: a temporary directory, removed afterwards)' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand demo" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand demo" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand demo" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand completions" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand completions" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand completions" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand man" -l dir -d 'Write every page (noderoll.1, noderoll-apply.1, …) into this directory (created if missing) instead of printing noderoll.1' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand man" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand man" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand man" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -l dir -d 'Directory for service_cert.pem, member identities, sandbox.json and a ready plan' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -l nodes -d 'Nodes at start (1–64)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -l members -d 'Members, all Active (1–32)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -l seed -d 'Seed of the latency model (same seed, same delays)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -l speed -d 'Divide every simulated latency by this (2 = twice as fast)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -l platform -d 'Platform of the simulated builds' -r -f -a "virtual\t'Virtual (host data = SHA-256 of the package)'
snp\t'AMD SEV-SNP (measurement + host data = SHA-256 of the security policy)'"
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -l startup-seqno -d 'The nodes at start started from a snapshot at this seqno (0: none): joiners with an older snapshot (or none) are refused with StartupSeqnoIsOld' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -l stale-retired -d 'Start as a recovered service whose node table keeps N Retired nodes from before the disaster recovery that never become removable (CCF issue #6604)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -l uvm -d 'With --platform snp: nodes present UVM endorsements (Azure confidential containers) and are admitted by them, not by measurement'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -f -a "launch-node" -d 'Launcher contract: start a node of the build with NODEROLL_HOST_DATA and print `{"node_id": ..., "rpc_address": ...}`'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -f -a "stop-node" -d 'Launcher contract: stop the node NODEROLL_NODE_ID (or NODEROLL_NODE_RPC_ADDRESS)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -f -a "fault" -d 'Inject a fault'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -f -a "check" -d 'Print the invariant violations recorded so far (exit 3 if there are any)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and not __fish_seen_subcommand_from launch-node stop-node fault check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -l dir -d 'The directory given to `noderoll sandbox --dir`' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -l host-data -d 'Host data of the build to run (default: the sandbox\'s next build)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -l platform -d 'Platform (default: the sandbox\'s)' -r -f -a "virtual\t'Virtual (host data = SHA-256 of the package)'
snp\t'AMD SEV-SNP (measurement + host data = SHA-256 of the security policy)'"
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -l ccf-version -d 'Version the node reports (default: that of the known build with this host data)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -l uvm-svn -d 'SNP: the node presents a UVM endorsement with this SVN (the sandbox\'s DID and feed)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -l name -d 'The launch\'s name, carried in the node\'s node_data as `noderoll_name`' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -l snapshot-name -d 'Start from this committed snapshot (downloaded as `GET /node/snapshot/{name}` would; default: none, so the node\'s startup seqno is 0)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -l snapshot-seqno -d 'Start from a snapshot at this seqno (without --snapshot-name: one the operator copied)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from launch-node" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from stop-node" -l dir -d 'The directory given to `noderoll sandbox --dir`' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from stop-node" -l node-id -d 'Node id' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from stop-node" -l rpc-address -d 'Node RPC address (used when no id is given)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from stop-node" -l name -d 'The launch\'s name (used when neither id nor address is given: a launch whose node was never reported); nothing to do if no node was launched under it' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from stop-node" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from stop-node" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from stop-node" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from stop-node" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l dir -d 'The directory given to `noderoll sandbox --dir`' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l node -d 'Node id or address (kill, partition, heal)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l count -d 'Count (fail-next)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l fraction -d 'Fraction 0–1 (fail-fraction)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l ms -d 'Milliseconds (latency)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l factor -d 'Factor (slow-elections)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l secs -d 'Seconds (clock-skew)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l member-id -d 'Member id (member-status)' -r
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l active -d 'Active or not (member-status)' -r -f -a "true\t''
false\t''"
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from fault" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from check" -l dir -d 'The directory given to `noderoll sandbox --dir`' -r -F
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from check" -l output -d 'Output format: `human` tables or one `json` document' -r -f -a "human\t'Tables for people'
json\t'One JSON document (or JSON Lines for event streams), with `schema_version`'"
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Less output (errors only on stderr)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More diagnostics on stderr (-v: debug, -vv: trace)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "launch-node" -d 'Launcher contract: start a node of the build with NODEROLL_HOST_DATA and print `{"node_id": ..., "rpc_address": ...}`'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "stop-node" -d 'Launcher contract: stop the node NODEROLL_NODE_ID (or NODEROLL_NODE_RPC_ADDRESS)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "fault" -d 'Inject a fault'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "check" -d 'Print the invariant violations recorded so far (exit 3 if there are any)'
complete -c noderoll -n "__fish_noderoll_using_subcommand sandbox; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "status" -d 'Show every node (status, primary, address, version, retirement), fault tolerance, registered code versions and open proposals. Read-only'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "plan" -d 'Preview the upgrade a plan file asks for: each step, the nodes it touches, the node count and fault tolerance after it, and its gate. Changes nothing'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "apply" -d 'Perform the upgrade: a plan file (asks for confirmation unless --yes), or a plan saved by `plan --out` (refused if the service changed since)'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "finalize" -d 'Remove the old code version once the rest of the upgrade is done: the point of no return, for plans with `[safety] finalize = "manual"`. Refused while other steps remain'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "rollback" -d 'Go back to the previous version: before any old node was retired, remove the new nodes; after, launch nodes of the previous build in their place. Then deregister the plan\'s target. Impossible once the upgrade was finalized'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "journal" -d 'Show this service\'s journal: runs, launched nodes, proposals, steps, outcomes'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "channel" -d 'Release channels: which release on a channel this service should run'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "watch" -d 'Keep services on a release channel, unattended: resume any upgrade left unfinished, then every interval read the channel and upgrade each service that is behind (inside its [watch] windows, one upgrade per service, at most --max-concurrent at once), with each plan\'s own safety settings, rollback and notifications. SIGTERM or Ctrl-C stops at a safe point'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "vote" -d 'Show a proposal\'s actions and vote for it as each configured member'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "demo" -d 'The whole upgrade against a built-in sandbox, with live progress: no arguments needed'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "man" -d 'Print the man page noderoll(1) (roff), or write it and every command\'s page (noderoll-apply(1), …) into a directory'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "sandbox" -d 'Run the built-in simulated CCF service on 127.0.0.1 until Ctrl-C, or act on a running one (launch or stop a node, inject a fault, check invariants)'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and not __fish_seen_subcommand_from status plan apply finalize rollback journal channel watch vote demo completions man sandbox help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and __fish_seen_subcommand_from channel" -f -a "check" -d 'Compare the channel\'s newest eligible release with what the service runs (version guard rules: no downgrade, no skipped major version). Exit 0: current; 2: an upgrade is available (its [target] table is printed), or one is in progress. Read-only'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and __fish_seen_subcommand_from channel" -f -a "apply" -d 'Upgrade the service to the channel\'s newest eligible release: its package (if the manifest names one) is downloaded and verified first and handed to the launcher as NODEROLL_PACKAGE; then the same run as `apply` with the release as [target]. An upgrade this machine left unfinished on the service is finished first (and alone)'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and __fish_seen_subcommand_from channel" -f -a "clear-failed" -d 'Forget which releases failed on this service, so `check` and `apply` consider them again. Prints what was cleared'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "launch-node" -d 'Launcher contract: start a node of the build with NODEROLL_HOST_DATA and print `{"node_id": ..., "rpc_address": ...}`'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "stop-node" -d 'Launcher contract: stop the node NODEROLL_NODE_ID (or NODEROLL_NODE_RPC_ADDRESS)'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "fault" -d 'Inject a fault'
complete -c noderoll -n "__fish_noderoll_using_subcommand help; and __fish_seen_subcommand_from sandbox" -f -a "check" -d 'Print the invariant violations recorded so far (exit 3 if there are any)'
