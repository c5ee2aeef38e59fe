// The command-line contract (DEVELOPERS.md): names and flags operators' scripts depend on.
export interface CommandModule {
  run(args: readonly string[]): Promise<number> | number;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  readonly load: () => Promise<CommandModule>;
}

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'config-test',
    summary: 'check a keepalived.conf and report every problem with file:line:col',
    load: () => import('./config-test.js'),
    help: `Usage: vigil config-test [-f FILE] [--json] [-i|--config-id ID] [--strict-host] [--no-host] [--dump]

Read a keepalived.conf (and everything it includes), check it, and print each problem as
  file:line:col: error|warning: message [code]
with the offending line, a caret, and a hint.

Options:
  -f, --file FILE      config file (default /etc/keepalived/keepalived.conf)
      --json           print the diagnostics (and a summary) as JSON on stdout
  -i, --config-id ID   the id that @ID / @^ID lines are matched against (default: host name up to the first '.')
      --strict-host    an interface or device missing on this host is an error, not a warning
      --no-host        skip the checks that look at this host (interfaces, addresses, scripts)
      --dump           print the parsed model as JSON on stdout
  -h, --help           this help

Exit codes (compatible with keepalived -t):
  0  the configuration is valid (warnings may have been printed)
  3  the configuration cannot run (file missing or unreadable, fatal error)
  4  the configuration has errors
  5  only script-security problems: a script is missing, not executable, or writable by non-root
`,
  },
  {
    name: 'run',
    summary: 'run a config: VRRP instances, sync groups, health checkers and the load balancer',
    load: () => import('./run.js'),
    help: `Usage: vigil run -f FILE [-i ID] [-l LEVEL] [--nats URL] [--journal FILE] [--control SOCKET] [--http HOST:PORT] [--daemon]

Check FILE exactly as 'vigil config-test' does (any error: not started, same exit code), then run
its VRRP instances, sync groups, health checkers and virtual servers in the foreground, logging
JSON lines (pino) to stdout in keepalived's words ("(VI_1) Entering MASTER STATE").

Options:
  -f, --file FILE        config file (default /etc/keepalived/keepalived.conf)
  -i, --config-id ID     the id @ID lines are matched against (default: host name up to the first '.')
  -l, --log-level LEVEL  trace, debug, info (default), warn, error; per module after a comma:
                         'info,lb=debug,vrrp=warn' (modules: vrrp, daemon, lb, control, http,
                         nats, systemd)
      --log-format FMT   json (default when stdout is not a terminal), pretty (default on a
                         terminal), syslog (to /dev/log, facility daemon, ident vigil)
      --journal DIR      the event journal (default /var/lib/vigil/journal, or global_defs
                         vigil_journal); --no-journal keeps events in memory only
      --nats URL[,URL]   export every event to NATS JetStream (or global_defs vigil_nats_servers);
                         the journal is the outbox, so events survive NATS outages and restarts
      --stream NAME      JetStream stream (default VIGIL, or vigil_nats_stream)
      --cluster NAME     first subject token: vigil.<cluster>.<node>.… (default 'default', or vigil_cluster)
      --control SOCKET   the control API's unix socket, mode 0600 (default /run/vigil/control.sock;
                         'none' for no socket); another vigil answering on it refuses the start
      --http [HOST:]PORT an HTTP listener (default host 127.0.0.1): /metrics (Prometheus, see
                         docs/metrics.md), /healthz, /readyz, /api/status, and POST /api/reload,
                         /api/config-test, /api/priority. Without a token it is loopback-only and
                         read-only; any other address needs a token
      --http-token-file FILE  the bearer token (mode 0600, owned by root; or VIGIL_HTTP_TOKEN)
      --daemon           detach once ready (exit 0; the daemon's exit code if it fails first)
      --pidfile FILE     write the pid (default /run/vigil.pid with --daemon); a live vigil there
                         refuses the start
      --log-file FILE    with --daemon: the daemon's stdout and stderr (default /dev/null)
  -u, --umask N          the umask of the files vigil makes (journal, pidfile, FIFOs, log file):
                         octal (0077) or keepalived's bit names (IWGRP|IWOTH); wins over
                         global_defs umask. Default: inherited
  -V, --dont-release-vrrp  on stop, send no priority-0 advert and leave the VIPs, virtual routes
                         and VMACs in place (keepalived's -V); the next start removes leftovers
  -X, --release-vips     accepted for keepalived's -X: vigil always removes the VIPs when an
                         instance leaves MASTER, a reload's transition included
  -I, --dont-release-ipvs  on stop, leave the load balancer's services and real servers in place
                         (keepalived's -I): connections keep flowing while vigil is restarted,
                         and the next start takes the entries over without a gap. Without it
                         vigil removes its own entries (global_defs lvs_flush_on_stop: the whole
                         IPVS table); lvs_flush empties the data plane at start

Signals (as keepalived):
  TERM, INT  stop gracefully: every MASTER sends a priority-0 advert and removes its virtual
             addresses, then vigil exits 0
  HUP        reload: the file is read and fully checked first; on any error the running config
             stays unchanged (the diagnostics are logged and published as daemon.reload-failed);
             otherwise only what changed is touched (see 'vigil reload --help')
  USR1       state dump to /tmp/vigil.data (text) and /tmp/vigil.json (global_defs
             state_dump_file / json_dump_file)
  USR2       counters to /tmp/vigil.stats (stats_dump_file)

Exit codes: 0 stopped by a signal; 2 bad usage; 3/4/5 as config-test (config refused);
3 also when the network cannot be set up (raw socket, netlink) or another vigil owns the
control socket or the journal.
`,
  },
  {
    name: 'status',
    summary: 'show instances, states and masters (--cluster: every node, from the event stream)',
    load: () => import('./status.js'),
    help: `Usage: vigil status [--control SOCKET] [--json]
       vigil status --cluster [--nats URL [--stream NAME] | --journal DIR ...] [--json]

--cluster: every node's instances with their last state, priority and master, and per VRID who
is MASTER, built from the event stream (NATS, or one or more journals merged). Two MASTERs for
one VRID are flagged SPLIT BRAIN (exit 1); instances with more than 6 state changes in 10 minutes
are flagged FLAPPING.
Without --cluster: the running daemon's instances (state, effective/configured priority, master,
VIPs), sync groups and trackers, over its control socket (default /run/vigil/control.sock).
Exit 3 when no daemon answers.
`,
  },
  {
    name: 'reload',
    summary: 'reload the running config (checked first; the old one stays on any error)',
    load: () => import('./reload.js'),
    help: `Usage: vigil reload [--control SOCKET] [-f FILE] [--json]

Ask the running daemon to reload its config file (or FILE), wait for the outcome and print it.
The file is fully checked first: on any error the daemon keeps running the old config unchanged,
the diagnostics are printed and the exit status is config-test's (4 errors, 5 script security).
Otherwise the new config is applied as a minimal diff:
  - unchanged instances keep their actor and state (a MASTER stays MASTER, no priority-0
    advert, no VIP flap);
  - priority, advert_int, preemption, GARP settings, VIPs, routes and tracked interfaces change
    in place; a VIP moving between instances is released by one before the other adds it;
  - an instance whose interface, VRID, version, family, peers, authentication, VMAC, strict
    mode, sync group or ownership changed is stopped and started again;
  - added and removed instances start and stop cleanly.
Reloads are serialised. Every reload is an event (daemon.reloaded / daemon.reload-failed).
Exit: 0 applied; 3 no daemon answers; 4/5 config refused; 2 bad usage.
`,
  },
  {
    name: 'priority',
    summary: "maintenance: set an instance's priority, or restore the configured one",
    load: () => import('./priority.js'),
    help: `Usage: vigil priority INSTANCE VALUE|restore [--control SOCKET] [--json]

Set the running instance's priority to VALUE (1-254), e.g. 1 to move its VIPs away before
maintenance, or 'restore' to return to the configured priority (trackers still apply on top).
Goes through the instance's state machine as a priority change and is audited as an
operator.command event. Kept across reloads that keep the instance; not persisted: a restart
(or a reload that replaces the instance) forgets it.
`,
  },
  {
    name: 'drain',
    summary: 'maintenance: take a real server out of rotation (weight 0, connections go on)',
    load: async () => ({ run: (await import('./drain.js')).command('drain') }),
    help: `Usage: vigil drain VIRTUAL_SERVER REAL_SERVER [--control SOCKET] [--json]

Set the real server's weight to 0 in the running load balancer: it takes no new connections,
established ones go on (quiescing). Its checkers keep running; 'vigil restore' puts it back at
its checked weight. Names as 'vigil status' shows them, e.g.
  vigil drain 10.0.0.100:80/tcp 192.168.1.11:80
Audited as an operator.command event. Not persisted across a restart.
`,
  },
  {
    name: 'restore',
    summary: 'maintenance: put a drained real server back in rotation',
    load: async () => ({ run: (await import('./drain.js')).command('restore') }),
    help: `Usage: vigil restore VIRTUAL_SERVER REAL_SERVER [--control SOCKET] [--json]

Undo 'vigil drain': the real server gets its checked weight back (if its checkers say it is up).
`,
  },
  {
    name: 'events',
    summary: 'print the event stream (from the journal, or NATS with --nats)',
    load: () => import('./events.js'),
    help: `Usage: vigil events [--journal DIR | --nats URL [--stream NAME]] [--follow] [--json]
                    [--node NODE] [--instance NAME] [--kind KIND] [--type TYPE] [--since TIME]

Print vigil's events, oldest first, one line each (or JSON lines with --json): every VRRP state
and priority change, tracker result change, dropped advert, sync group move, NATS link change
(docs/events.md lists the types and their fields).

Options:
      --journal DIR     the journal 'vigil run' writes (default ${'/var/lib/vigil/journal'}); read only
      --nats URL[,URL]  read the JetStream stream instead (all nodes of the cluster)
      --stream NAME     the stream (default VIGIL)
  -F, --follow          keep printing new events until interrupted
      --json            one JSON envelope per line
      --node NODE       only this node (router_id)
      --instance NAME   only this actor name (instance, group, tracker)
      --kind KIND       vrrp, sync-group, track, nats, daemon
      --type TYPE       e.g. vrrp.state, or a prefix: vrrp
      --since TIME      an ISO time, or a duration back from now: 90s, 10m, 2h, 1d
`,
  },
  {
    name: 'history',
    summary: "an instance's timeline with the events that caused each change",
    load: () => import('./history.js'),
    help: `Usage: vigil history INSTANCE [--journal DIR | --nats URL] [--follow] [--json] [--since TIME]

The instance's own events (state and priority changes, drops) and every event in their cause
chains: the track script that failed, the priority change it made, the state change that followed.
Options as 'vigil events'.
`,
  },
  {
    name: 'replay',
    summary: 'feed recorded events back through the state machines and check each decision',
    load: () => import('./replay.js'),
    help: `Usage: vigil replay [--from FILE|DIR | --journal DIR | --nats URL [--stream NAME]] [-f CONFIG]
                    [--node NODE] [--instance NAME | --actor KIND:NAME]
                    [--since TIME] [--until TIME] [--json]

Feed one node's recorded events back through vigil's state machines, offline and pure (nothing is
sent, no address touched), and print each step: the recorded event, every event fed to a machine
with its state before and after, and each decision the machine makes next to the recorded one.
A replayed decision that differs from the record is a MISMATCH (exit 1). The machines run from the
node's configuration (the record holds decisions, not configuration).

What is replayed (docs/events.md, "Replay", has the details):
  virtual servers  from their checkers' recorded checker.state / checker.weight, exactly their
                   inputs; drains and slow-start steps inferred from what they changed
  sync groups      from their replayed members, as the daemon wires them; their commands go back
  VRRP instances   recorded priority changes, tracker states and the daemon's stop; adverts and
                   timers are not recorded, so those inputs are inferred from the cause of each
                   recorded state change (master-down-timeout: the armed Master_Down timer runs out)
  checkers         probe results are not recorded: the fewest results the recorded change implies
Each fed event says where it comes from: recorded, inferred or derived (sent by another machine).
An event that cannot be replayed (the record starts after its machine started, a tie-break needing
an address not recorded) is reported as NOT REPLAYED, and so is everything of that machine until
the record shows it starting again; so is a machine after its first mismatch. Not replayed at all:
track scripts, track files, the NATS link, the mail outbox (their inputs are not recorded), and
vrrp.rx-lower-priority (a rate-limited report; it changes no state).

Options:
      --from FILE|DIR   the record: a journal directory, or JSON lines ('vigil events --json')
      --journal DIR     the journal (default ${'/var/lib/vigil/journal'}), as 'vigil events'
      --nats URL[,URL]  read the JetStream stream instead (one node of it: --node)
      --stream NAME     the stream (default VIGIL); --cluster NAME: only that cluster's subjects
  -f, --file CONFIG     the node's configuration (default: the one its last daemon.started names,
                        else /etc/keepalived/keepalived.conf); a reload in the record is noted, the
                        one configuration drives the whole replay
  -i, --config-id ID    the id @ID lines are matched against (default: this host's name up to
                        the first '.')
      --node NODE       the node (router_id) to replay, when the record holds several
      --instance NAME   only the steps of this VRRP instance (--actor vrrp:NAME)
      --actor KIND:NAME only the steps of this actor: vrrp:VI_1, sync-group:G1,
                        vs:10.0.0.100:80/tcp, 'checker:10.0.0.100:80/tcp 10.0.1.1:80 TCP_CHECK#0'
      --since TIME      only the steps from TIME (an ISO time, or a duration back: 10m, 2h); the
                        replay itself always starts at the beginning of the record
      --until TIME      stop the replay at TIME
      --json            one JSON object per step, then a summary object

Exit codes: 0 every decision replayed matches the record; 1 a mismatch; 2 bad usage (unknown
actor or node); 3 the record or the configuration cannot be read.
`,
  },
  {
    name: 'chart',
    summary: "print a state machine's chart (Mermaid, DOT, SVG, JSON), drawn from the machine vigil runs",
    load: () => import('./chart.js'),
    help: `Usage: vigil chart [MACHINE] [--format mermaid|dot|svg|json] [-o FILE]
       vigil chart --all -o DIR

Print the state chart of one of vigil's machines, drawn from the machine definition itself (the
one 'vigil run' executes), never a hand-drawn copy. With no MACHINE, list the machines.

Options:
      --format FORMAT   mermaid (default): a Mermaid stateDiagram-v2, for Markdown
                        dot: Graphviz; svg: rendered offline (Graphviz in WebAssembly)
                        json: the states (ids are XState state paths) and every transition
  -o, --output FILE     write to FILE instead of stdout
      --all             every machine in every format, and a README.md index, into DIR (-o);
                        docs/charts is made this way

Exit codes: 0 done; 2 bad usage (unknown machine or format); 3 the output cannot be written.
`,
  },
  {
    name: 'genhash',
    summary: "print the MD5 digest of a URL's body for HTTP_GET/SSL_GET 'digest'",
    load: () => import('./genhash.js'),
    help: `Usage: vigil genhash -s ADDRESS -p PORT -u PATH [-S [-I]] [-V VHOST] [-P 1.0|1.0c|1.1] [-t SECS] [-v]

GET a URL the way HTTP_GET and SSL_GET do (the same code) and print the MD5 digest of its body,
to paste into a url block's 'digest'. Options and output are those of keepalived's genhash.

Options:
  -s, --server ADDRESS          the server's IP address
  -p, --port PORT               its port
  -u, --url PATH                the path to GET, e.g. /health
  -S, --use-ssl                 over TLS (no certificate check, as SSL_GET)
  -I, --use-sni                 send the virtual host (-V) as SNI
  -V, --use-virtualhost VHOST   the Host header (default ADDRESS:PORT)
  -P, --protocol 1.0|1.0c|1.1   the request's HTTP version (default 1.0; 1.0c: 1.0 with 'Connection: close')
  -t, --timeout SECS            give up after SECS without progress (default 5; 0: wait for ever)
  -v, --verbose                 also dump the header and the body (hex and text) and the response time
  -m, --fwmark MARK             refused: Node.js cannot mark a socket
  -h, --help                    this help

The digest covers the body bytes as received, up to Content-Length, without chunked decoding:
exactly what HTTP_GET compares (and what keepalived's genhash prints).

Exit codes: 0 the digest was printed; 1 bad usage, or the fetch failed (genhash exits 0 there).
`,
  },
];

export function usage(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: vigil COMMAND [options]   (vigil COMMAND --help for each)

vigil runs keepalived.conf: VRRP failover, health checks, load-balancer weights, notifications.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}

  -v, --version   print the version
`;
}
