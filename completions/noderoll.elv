
use builtin;
use str;

set edit:completion:arg-completer[noderoll] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'noderoll'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'noderoll'= {
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand status 'Show every node (status, primary, address, version, retirement), fault tolerance, registered code versions and open proposals. Read-only'
            cand plan 'Preview the upgrade a plan file asks for: each step, the nodes it touches, the node count and fault tolerance after it, and its gate. Changes nothing'
            cand apply 'Perform the upgrade: a plan file (asks for confirmation unless --yes), or a plan saved by `plan --out` (refused if the service changed since)'
            cand finalize 'Remove the old code version once the rest of the upgrade is done: the point of no return, for plans with `[safety] finalize = "manual"`. Refused while other steps remain'
            cand rollback 'Go back to the previous version: before any old node was retired, remove the new nodes; after, launch nodes of the previous build in their place. Then deregister the plan''s target. Impossible once the upgrade was finalized'
            cand journal 'Show this service''s journal: runs, launched nodes, proposals, steps, outcomes'
            cand channel 'Release channels: which release on a channel this service should run'
            cand watch 'Keep services on a release channel, unattended: resume any upgrade left unfinished, then every interval read the channel and upgrade each service that is behind (inside its [watch] windows, one upgrade per service, at most --max-concurrent at once), with each plan''s own safety settings, rollback and notifications. SIGTERM or Ctrl-C stops at a safe point'
            cand vote 'Show a proposal''s actions and vote for it as each configured member'
            cand demo 'The whole upgrade against a built-in sandbox, with live progress: no arguments needed'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand man 'Print the man page noderoll(1) (roff), or write it and every command''s page (noderoll-apply(1), …) into a directory'
            cand sandbox 'Run the built-in simulated CCF service on 127.0.0.1 until Ctrl-C, or act on a running one (launch or stop a node, inject a fault, check invariants)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'noderoll;status'= {
            cand --plan 'Plan file whose `[service]` table names the service'
            cand --service-url 'A node of the service, `host:port` or `https://host:port` (repeat or comma-separate for several; the first that answers is used)'
            cand --service-cert 'The service certificate (`service_cert.pem`): the only TLS root trusted'
            cand --until 'With --watch: exit 0 once this holds (`upgraded` needs --plan with a [target])'
            cand --interval 'With --watch: how often to look (e.g. 2s, 500ms)'
            cand --timeout 'With --watch: give up after this long (exit 3), e.g. 10m'
            cand --state-dir 'The state directory, where the service''s node addresses are kept after each look and tried when none of the given addresses answers [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand --watch 'Keep watching: redraw whenever the service changes (Ctrl-C to stop)'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;plan'= {
            cand --plan 'The plan file'
            cand --out 'Save the plan for `noderoll apply FILE`'
            cand --state-dir 'The state directory whose journal says what this machine''s runs left unfinished [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand --detailed-exitcode 'Exit 0 when there is nothing to do, 2 when there are changes, 8 when only finalize is left'
            cand --allow-downgrade 'Allow a target ccf_version older than what the service runs'
            cand --allow-version-jump 'Allow a target that skips a major version (CCF supports N to N+1 only)'
            cand --retry-failed-target 'Plan a target that failed before and was rolled back, as `apply --retry-failed-target` would apply it'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;apply'= {
            cand --plan 'The plan file'
            cand --adopt 'Continue an upgrade this machine has no journal of (started on another machine, or whose state directory is lost). Alone: every Pending node attesting the target is taken over, mixed builds and the configured members'' open proposals are accepted as that upgrade''s. With node ids (or unique prefixes of 8+ characters; repeat or comma-separate): only those Pending nodes are taken over'
            cand --state-dir 'Where per-service state (the run lock) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -y 'Do not ask for confirmation (required without a terminal)'
            cand --yes 'Do not ask for confirmation (required without a terminal)'
            cand --allow-downgrade 'Allow a target ccf_version older than what the service runs'
            cand --allow-version-jump 'Allow a target that skips a major version (CCF supports N to N+1 only)'
            cand --retry-failed-target 'Try a target that failed before and was rolled back (the journal remembers it)'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;finalize'= {
            cand --plan 'The plan file'
            cand --state-dir 'Where per-service state (the run lock) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -y 'Do not ask for confirmation (required without a terminal)'
            cand --yes 'Do not ask for confirmation (required without a terminal)'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;rollback'= {
            cand --plan 'The plan file whose target is given up'
            cand --state-dir 'Where per-service state (the run lock) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -y 'Do not ask for confirmation (required without a terminal)'
            cand --yes 'Do not ask for confirmation (required without a terminal)'
            cand --dry-run 'Show what the rollback would do and change nothing (exit 0: nothing to roll back, 2: steps to run)'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;journal'= {
            cand --plan 'Plan file whose `[service]` table names the service'
            cand --service-url 'A node of the service, `host:port` or `https://host:port` (repeat or comma-separate for several; the first that answers is used)'
            cand --service-cert 'The service certificate (`service_cert.pem`): the only TLS root trusted'
            cand --state-dir 'The state directory [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;channel'= {
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand check 'Compare the channel''s newest eligible release with what the service runs (version guard rules: no downgrade, no skipped major version). Exit 0: current; 2: an upgrade is available (its [target] table is printed), or one is in progress. Read-only'
            cand apply 'Upgrade the service to the channel''s newest eligible release: its package (if the manifest names one) is downloaded and verified first and handed to the launcher as NODEROLL_PACKAGE; then the same run as `apply` with the release as [target]. An upgrade this machine left unfinished on the service is finished first (and alone)'
            cand clear-failed 'Forget which releases failed on this service, so `check` and `apply` consider them again. Prints what was cleared'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'noderoll;channel;check'= {
            cand --plan 'The plan file: service, members, launcher, safety (its [target] may be absent)'
            cand --channel 'The channel manifest: an `https://` URL or a local file'
            cand --ca 'Trust only this CA (PEM) for `https://` channels and packages instead of the system''s roots'
            cand --state-dir 'Where per-service state (lock, journal with the releases that failed here, package cache) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;channel;apply'= {
            cand --plan 'The plan file: service, members, launcher, safety (its [target] may be absent)'
            cand --channel 'The channel manifest: an `https://` URL or a local file'
            cand --ca 'Trust only this CA (PEM) for `https://` channels and packages instead of the system''s roots'
            cand --state-dir 'Where per-service state (lock, journal with the releases that failed here, package cache) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -y 'Do not ask for confirmation (required without a terminal)'
            cand --yes 'Do not ask for confirmation (required without a terminal)'
            cand --retry-failed-target 'Consider releases that failed on this service before'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;channel;clear-failed'= {
            cand --plan 'The plan file naming the service'
            cand --state-dir 'The state directory [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;channel;help'= {
            cand check 'Compare the channel''s newest eligible release with what the service runs (version guard rules: no downgrade, no skipped major version). Exit 0: current; 2: an upgrade is available (its [target] table is printed), or one is in progress. Read-only'
            cand apply 'Upgrade the service to the channel''s newest eligible release: its package (if the manifest names one) is downloaded and verified first and handed to the launcher as NODEROLL_PACKAGE; then the same run as `apply` with the release as [target]. An upgrade this machine left unfinished on the service is finished first (and alone)'
            cand clear-failed 'Forget which releases failed on this service, so `check` and `apply` consider them again. Prints what was cleared'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'noderoll;channel;help;check'= {
        }
        &'noderoll;channel;help;apply'= {
        }
        &'noderoll;channel;help;clear-failed'= {
        }
        &'noderoll;channel;help;help'= {
        }
        &'noderoll;watch'= {
            cand --plan 'A plan file naming a service (repeat for several services; each plan''s [target] may be absent: the channel supplies it)'
            cand --channel 'The channel manifest: an `https://` URL or a local file (read again every interval)'
            cand --ca 'Trust only this CA (PEM) for `https://` channels and packages instead of the system''s roots'
            cand --interval 'Time between two looks at the channel (e.g. 10m, 1h, 30s)'
            cand --max-concurrent 'Upgrades running at the same time, at most (each service has at most one)'
            cand --state-dir 'Where per-service state (locks, journals, package cache) lives [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand --once 'Look once (after resuming what was left unfinished), wait for the upgrades it started, then exit: for cron jobs. Exit code: the first failure''s, else 0'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;vote'= {
            cand --plan 'The plan file: `[service]` and `[[members]]` are all a vote needs'
            cand --settle 'With --follow: how long the service must show no upgrade in progress before it is over (default 30s)'
            cand --timeout 'With --follow: give up after this long (exit 3; default 6h)'
            cand --state-dir 'The state directory: where this machine last saw the service''s nodes, tried when none of the plan''s addresses answers [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -y 'Vote without asking'
            cand --yes 'Vote without asking'
            cand --follow 'Vote yes on each proposal of the upgrade in progress as it appears (only those whose every action is one an upgrade proposes), until the upgrade is over; Ctrl-C stops'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;demo'= {
            cand --nodes 'Nodes of the demo service'
            cand --speed 'Speed of the simulated service (2 = twice as fast)'
            cand --platform 'Platform of the simulated builds'
            cand --dir 'Keep the sandbox''s files here (default: a temporary directory, removed afterwards)'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;completions'= {
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;man'= {
            cand --dir 'Write every page (noderoll.1, noderoll-apply.1, …) into this directory (created if missing) instead of printing noderoll.1'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;sandbox'= {
            cand --dir 'Directory for service_cert.pem, member identities, sandbox.json and a ready plan'
            cand --nodes 'Nodes at start (1–64)'
            cand --members 'Members, all Active (1–32)'
            cand --seed 'Seed of the latency model (same seed, same delays)'
            cand --speed 'Divide every simulated latency by this (2 = twice as fast)'
            cand --platform 'Platform of the simulated builds'
            cand --startup-seqno 'The nodes at start started from a snapshot at this seqno (0: none): joiners with an older snapshot (or none) are refused with StartupSeqnoIsOld'
            cand --stale-retired 'Start as a recovered service whose node table keeps N Retired nodes from before the disaster recovery that never become removable (CCF issue #6604)'
            cand --output 'Output format: `human` tables or one `json` document'
            cand --uvm 'With --platform snp: nodes present UVM endorsements (Azure confidential containers) and are admitted by them, not by measurement'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand launch-node 'Launcher contract: start a node of the build with NODEROLL_HOST_DATA and print `{"node_id": ..., "rpc_address": ...}`'
            cand stop-node 'Launcher contract: stop the node NODEROLL_NODE_ID (or NODEROLL_NODE_RPC_ADDRESS)'
            cand fault 'Inject a fault'
            cand check 'Print the invariant violations recorded so far (exit 3 if there are any)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'noderoll;sandbox;launch-node'= {
            cand --dir 'The directory given to `noderoll sandbox --dir`'
            cand --host-data 'Host data of the build to run (default: the sandbox''s next build)'
            cand --platform 'Platform (default: the sandbox''s)'
            cand --ccf-version 'Version the node reports (default: that of the known build with this host data)'
            cand --uvm-svn 'SNP: the node presents a UVM endorsement with this SVN (the sandbox''s DID and feed)'
            cand --name 'The launch''s name, carried in the node''s node_data as `noderoll_name`'
            cand --snapshot-name 'Start from this committed snapshot (downloaded as `GET /node/snapshot/{name}` would; default: none, so the node''s startup seqno is 0)'
            cand --snapshot-seqno 'Start from a snapshot at this seqno (without --snapshot-name: one the operator copied)'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;sandbox;stop-node'= {
            cand --dir 'The directory given to `noderoll sandbox --dir`'
            cand --node-id 'Node id'
            cand --rpc-address 'Node RPC address (used when no id is given)'
            cand --name 'The launch''s name (used when neither id nor address is given: a launch whose node was never reported); nothing to do if no node was launched under it'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;sandbox;fault'= {
            cand --dir 'The directory given to `noderoll sandbox --dir`'
            cand --node 'Node id or address (kill, partition, heal)'
            cand --count 'Count (fail-next)'
            cand --fraction 'Fraction 0–1 (fail-fraction)'
            cand --ms 'Milliseconds (latency)'
            cand --factor 'Factor (slow-elections)'
            cand --secs 'Seconds (clock-skew)'
            cand --member-id 'Member id (member-status)'
            cand --active 'Active or not (member-status)'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;sandbox;check'= {
            cand --dir 'The directory given to `noderoll sandbox --dir`'
            cand --output 'Output format: `human` tables or one `json` document'
            cand -q 'Less output (errors only on stderr)'
            cand --quiet 'Less output (errors only on stderr)'
            cand -v 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand --verbose 'More diagnostics on stderr (-v: debug, -vv: trace)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'noderoll;sandbox;help'= {
            cand launch-node 'Launcher contract: start a node of the build with NODEROLL_HOST_DATA and print `{"node_id": ..., "rpc_address": ...}`'
            cand stop-node 'Launcher contract: stop the node NODEROLL_NODE_ID (or NODEROLL_NODE_RPC_ADDRESS)'
            cand fault 'Inject a fault'
            cand check 'Print the invariant violations recorded so far (exit 3 if there are any)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'noderoll;sandbox;help;launch-node'= {
        }
        &'noderoll;sandbox;help;stop-node'= {
        }
        &'noderoll;sandbox;help;fault'= {
        }
        &'noderoll;sandbox;help;check'= {
        }
        &'noderoll;sandbox;help;help'= {
        }
        &'noderoll;help'= {
            cand status 'Show every node (status, primary, address, version, retirement), fault tolerance, registered code versions and open proposals. Read-only'
            cand plan 'Preview the upgrade a plan file asks for: each step, the nodes it touches, the node count and fault tolerance after it, and its gate. Changes nothing'
            cand apply 'Perform the upgrade: a plan file (asks for confirmation unless --yes), or a plan saved by `plan --out` (refused if the service changed since)'
            cand finalize 'Remove the old code version once the rest of the upgrade is done: the point of no return, for plans with `[safety] finalize = "manual"`. Refused while other steps remain'
            cand rollback 'Go back to the previous version: before any old node was retired, remove the new nodes; after, launch nodes of the previous build in their place. Then deregister the plan''s target. Impossible once the upgrade was finalized'
            cand journal 'Show this service''s journal: runs, launched nodes, proposals, steps, outcomes'
            cand channel 'Release channels: which release on a channel this service should run'
            cand watch 'Keep services on a release channel, unattended: resume any upgrade left unfinished, then every interval read the channel and upgrade each service that is behind (inside its [watch] windows, one upgrade per service, at most --max-concurrent at once), with each plan''s own safety settings, rollback and notifications. SIGTERM or Ctrl-C stops at a safe point'
            cand vote 'Show a proposal''s actions and vote for it as each configured member'
            cand demo 'The whole upgrade against a built-in sandbox, with live progress: no arguments needed'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand man 'Print the man page noderoll(1) (roff), or write it and every command''s page (noderoll-apply(1), …) into a directory'
            cand sandbox 'Run the built-in simulated CCF service on 127.0.0.1 until Ctrl-C, or act on a running one (launch or stop a node, inject a fault, check invariants)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'noderoll;help;status'= {
        }
        &'noderoll;help;plan'= {
        }
        &'noderoll;help;apply'= {
        }
        &'noderoll;help;finalize'= {
        }
        &'noderoll;help;rollback'= {
        }
        &'noderoll;help;journal'= {
        }
        &'noderoll;help;channel'= {
            cand check 'Compare the channel''s newest eligible release with what the service runs (version guard rules: no downgrade, no skipped major version). Exit 0: current; 2: an upgrade is available (its [target] table is printed), or one is in progress. Read-only'
            cand apply 'Upgrade the service to the channel''s newest eligible release: its package (if the manifest names one) is downloaded and verified first and handed to the launcher as NODEROLL_PACKAGE; then the same run as `apply` with the release as [target]. An upgrade this machine left unfinished on the service is finished first (and alone)'
            cand clear-failed 'Forget which releases failed on this service, so `check` and `apply` consider them again. Prints what was cleared'
        }
        &'noderoll;help;channel;check'= {
        }
        &'noderoll;help;channel;apply'= {
        }
        &'noderoll;help;channel;clear-failed'= {
        }
        &'noderoll;help;watch'= {
        }
        &'noderoll;help;vote'= {
        }
        &'noderoll;help;demo'= {
        }
        &'noderoll;help;completions'= {
        }
        &'noderoll;help;man'= {
        }
        &'noderoll;help;sandbox'= {
            cand launch-node 'Launcher contract: start a node of the build with NODEROLL_HOST_DATA and print `{"node_id": ..., "rpc_address": ...}`'
            cand stop-node 'Launcher contract: stop the node NODEROLL_NODE_ID (or NODEROLL_NODE_RPC_ADDRESS)'
            cand fault 'Inject a fault'
            cand check 'Print the invariant violations recorded so far (exit 3 if there are any)'
        }
        &'noderoll;help;sandbox;launch-node'= {
        }
        &'noderoll;help;sandbox;stop-node'= {
        }
        &'noderoll;help;sandbox;fault'= {
        }
        &'noderoll;help;sandbox;check'= {
        }
        &'noderoll;help;help'= {
        }
    ]
    $completions[$command]
}
