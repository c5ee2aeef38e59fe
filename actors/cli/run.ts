// `vigil run -f FILE`: check the config (refused on any error, exactly as config-test reports it),
// then run it in the foreground until SIGTERM/SIGINT, which stop every instance gracefully.
import { parseArgs } from 'node:util';
import { formatDiagnostic } from '../../adapters/config/format.js';
import { nodeHost } from '../../adapters/config/host.js';
import { ExitCode, loadConfig } from '../../adapters/config/index.js';
import { formatUmask, parseUmask } from '../../adapters/config/umask.js';
import { createLogger, parseLevels } from '../log.js';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CONFIG } from './config-test.js';
import { DEFAULT_JOURNAL } from './events.js';
import { Control } from '../control.js';
import { serveControl } from '../../adapters/control/unix.js';
import { DEFAULT_CONTROL_SOCKET } from '../../adapters/control/types.js';
import { dumpState, dumpStats } from '../dumps.js';
import { isLoopback, parseListen, serveHttp, type HttpServer } from '../../adapters/http/server.js';
import { loadHttpToken } from '../../adapters/http/token.js';
import type { NatsExport } from '../../adapters/nats/export.js';
import { DaemonHealth } from '../health.js';
import type { Metrics } from '../metrics.js';
import { createNotifier } from '../../adapters/service/notify.js';
import { claimPidfile, DEFAULT_PIDFILE, type Pidfile } from '../../adapters/service/pidfile.js';
import { DEFAULT_VRID_DIR, openVridClaims } from '../../adapters/service/vrid-claims.js';
import type { KeepalivedConfig } from '../../adapters/config/model.js';
import { daemonChild, detach, withoutDaemonFlag } from '../../adapters/service/detach.js';
import type { Dashboard } from '../dashboard/routes.js';
import { journalHooks } from '../journal-hooks.js';
import { startMallocTrim } from '../../adapters/service/trim.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;


export async function run(args: readonly string[]): Promise<number> {
  let opts;
  try {
    opts = parseArgs({
      args: [...args],
      options: {
        file: { type: 'string', short: 'f' },
        'config-id': { type: 'string', short: 'i' },
        'log-level': { type: 'string', short: 'l' },
        'log-format': { type: 'string' },
        nats: { type: 'string' },
        journal: { type: 'string' },
        'no-journal': { type: 'boolean' },
        stream: { type: 'string' },
        cluster: { type: 'string' },
        control: { type: 'string' },
        http: { type: 'string' },
        'http-token-file': { type: 'string' },
        daemon: { type: 'boolean' },
        pidfile: { type: 'string' },
        'log-file': { type: 'string' },
        'dont-release-ipvs': { type: 'boolean', short: 'I' },
        'dont-release-vrrp': { type: 'boolean', short: 'V' },
        'release-vips': { type: 'boolean', short: 'X' },
        umask: { type: 'string', short: 'u' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`vigil run: ${(err as Error).message}\n(see vigil run --help)\n`);
    return 2;
  }
  // the HTTP listener's address and token are checked before anything is opened
  let httpToken: string | undefined;
  if (opts['http-token-file'] !== undefined && opts.http === undefined) {
    process.stderr.write('vigil run: --http-token-file goes with --http\n');
    return 2;
  }
  if (opts.http !== undefined) {
    let host: string;
    try {
      host = parseListen(opts.http).host;
    } catch (err) {
      process.stderr.write(`vigil run: --http ${opts.http}: ${(err as Error).message}\n`);
      return 2;
    }
    try {
      httpToken = loadHttpToken(opts['http-token-file']);
    } catch (err) {
      process.stderr.write(`vigil run: ${(err as Error).message}\n`);
      return ExitCode.cannotRun;
    }
    if (!httpToken && !isLoopback(host)) {
      process.stderr.write(`vigil run: --http ${opts.http} is not a loopback address: it needs a token (--http-token-file FILE, mode 0600, or VIGIL_HTTP_TOKEN)\n`);
      return 2;
    }
  }
  // set when this process is the daemon `vigil run --daemon` detached
  const child = daemonChild();
  if (opts['log-file'] !== undefined && !opts.daemon && !child) {
    process.stderr.write('vigil run: --log-file goes with --daemon (in the foreground, redirect stdout)\n');
    return 2;
  }
  let cliUmask: number | undefined;
  if (opts.umask !== undefined) {
    const u = parseUmask(opts.umask.trim().split(/\s+/));
    if (!u.ok) {
      process.stderr.write(`vigil run: --umask ${opts.umask}: ${u.error}\n`);
      return 2;
    }
    cliUmask = u.mask;
  }
  const file = opts.file ?? DEFAULT_CONFIG;
  const loaded = loadConfig(file, { host: nodeHost, ...(opts['config-id'] ? { configId: opts['config-id'] } : {}) });
  // the detached daemon's parent has shown the warnings already; errors (the file changed since) are shown again
  if (!child || loaded.exitCode !== ExitCode.ok) for (const d of loaded.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
  if (loaded.exitCode !== ExitCode.ok) {
    process.stderr.write(`vigil run: ${file}: the configuration has errors; not starting (exit ${loaded.exitCode})\n`);
    return loaded.exitCode;
  }
  // keepalived's umask, before anything is made (the --daemon parent's --log-file too)
  const startUmask = cliUmask ?? loaded.config.global.umask;
  if (startUmask !== undefined) process.umask(startUmask);
  if (opts.daemon && !child) {
    // the config is good: start the daemon and wait until it is ready (or report why it died).
    // systemd's variables stay here: if there is a NOTIFY_SOCKET, this process hands it the daemon's pid
    const parentNotifier = createNotifier(process.env, { warn: (_, msg) => void process.stderr.write(`vigil run: ${msg}\n`) });
    const code = await detach({
      args: ['run', ...withoutDaemonFlag(args)],
      ...(opts['log-file'] !== undefined ? { logFile: opts['log-file'] } : {}),
      onReady: (pid) => parentNotifier.ready(`vigil running as pid ${pid}`, pid),
    });
    parentNotifier.close();
    return code;
  }
  const levels = parseLevels(opts['log-level'] ?? 'info');
  if (typeof levels === 'string') {
    process.stderr.write(`vigil run: --log-level: ${levels}\n`);
    return 2;
  }
  const format = opts['log-format'];
  if (format !== undefined && format !== 'json' && format !== 'pretty' && format !== 'syslog') {
    process.stderr.write(`vigil run: --log-format ${format}: use json, pretty or syslog\n`);
    return 2;
  }
  let syslogSend: ((line: string) => boolean) | undefined;
  if (format === 'syslog') {
    // Node has no unix datagram sockets: the native addon sends to /dev/log
    const { loadPacketAddon } = await import('../../adapters/ip/packet.js');
    const loaded = loadPacketAddon();
    const send = loaded.ok ? loaded.addon.sendUnixDgram : undefined;
    if (!send) process.stderr.write('vigil run: --log-format syslog: the native addon is not built (infra/setup.sh builds it); logging JSON to stdout\n');
    else
      syslogSend = (line) => {
        try {
          send('/dev/log', Buffer.from(line));
          return true;
        } catch {
          return false;
        }
      };
  }
  const log = createLogger({ level: levels, ...(format ? { format } : {}), ...(syslogSend ? { syslogSend } : {}) });
  // keepalived's umask: the command line's, else global_defs umask (also on reload), else inherited.
  // Set above, before anything is made; said here, and followed on reload. (process.umask()
  // without an argument is deprecated: what was set is remembered.)
  let appliedUmask = startUmask;
  const followUmask = (fromConfig: number | undefined, when: 'start' | 'reload') => {
    if (fromConfig === undefined) return;
    if (cliUmask !== undefined) {
      if (fromConfig !== cliUmask) log.info(`umask command line option specified, ignoring config option (${when})`);
      return;
    }
    if (when === 'reload' && fromConfig === appliedUmask) return;
    if (fromConfig !== appliedUmask) process.umask(fromConfig);
    appliedUmask = fromConfig;
    log.info(`umask ${formatUmask(fromConfig)} (${when})`);
  };
  followUmask(loaded.config.global.umask, 'start');
  // before the journal lock and the control socket: a second vigil is refused by the pidfile's name
  const pidfilePath = opts.pidfile ?? (child ? DEFAULT_PIDFILE : undefined);
  let pidfile: Pidfile | undefined;
  if (pidfilePath !== undefined) {
    try {
      pidfile = await claimPidfile(pidfilePath, { log });
    } catch (err) {
      process.stderr.write(`vigil run: ${(err as Error).message}\n`);
      return ExitCode.cannotRun;
    }
    // every way out, the refusals below included; release() is synchronous and removes only our own
    process.on('exit', () => pidfile?.release());
  }
  // READY/RELOADING/STOPPING/WATCHDOG for systemd (a no-op without NOTIFY_SOCKET)
  const notifier = createNotifier(process.env, log.child({ actor: 'systemd' }));
  // the adapters are loaded only here: config-test must not pay for native modules
  const [{ createRawVrrpNet }, { createIpNet }, { Daemon }, { Bus }, { openJournal }, { lockJournal }, { trackerStatesFromJournal }] = await Promise.all([
    import('../../adapters/vrrp/socket.js'),
    import('../../adapters/ip/netlink.js'),
    import('../daemon.js'),
    import('../bus.js'),
    import('../../adapters/journal/file.js'),
    import('../../adapters/journal/lock.js'),
    import('../resume.js'),
  ]);
  const g = loaded.config.global;
  // the data plane for virtual servers: IPVS when the kernel has it, else nftables (or lb_driver)
  let lb: import('../../adapters/lb/types.js').LoadBalancer | undefined;
  if (loaded.config.virtualServers.length) {
    const { openLoadBalancer } = await import('../../adapters/lb/index.js');
    const { nftablesProblems } = await import('../../adapters/lb/config.js');
    try {
      lb = (await openLoadBalancer({ ...(g.lbDriver ? { driver: g.lbDriver } : {}), log: log.child({ actor: 'lb' }) })).lb;
    } catch (err) {
      process.stderr.write(`vigil run: cannot open the load balancer: ${(err as Error).message}\n`);
      return ExitCode.cannotRun;
    }
    if (lb.driver === 'nftables') {
      for (const vs of loaded.config.virtualServers) {
        for (const p of nftablesProblems(vs)) log.error(`${vs.loc.file}:${vs.loc.line}:${vs.loc.col}: virtual_server ${vs.address ?? vs.fwmark ?? vs.group}: ${p}`);
      }
    }
  }
  const bus = new Bus(g.routerId ?? hostname().split('.')[0] ?? 'vigil');

  // The journal: every event, durably, before anything else sees it leave the process. When it
  // cannot be opened vigil still runs (VRRP never waits on the event backbone) and says so.
  const journalDir = opts.journal ?? g.vigil.journal ?? DEFAULT_JOURNAL;
  let lock: { release(): Promise<void> } | undefined;
  if (!opts['no-journal']) {
    try {
      await mkdir(journalDir, { recursive: true });
      lock = await lockJournal(journalDir);
    } catch (err) {
      process.stderr.write(`vigil run: ${(err as Error).message}\n`);
      return ExitCode.cannotRun;
    }
  }
  // one virtual router per host: the VRIDs another vigil runs here refuse the start (and a reload);
  // after the journal's lock, whose refusal names the more precise conflict
  const { resolveAll } = await import('../vrrp.js');
  const vrids = openVridClaims({ dir: process.env['VIGIL_VRID_DIR'] ?? DEFAULT_VRID_DIR });
  const claimVrids = async (config: KeepalivedConfig): Promise<string[]> =>
    vrids.sync(resolveAll(config).map(({ endpoint: e }) => ({ instance: e.instance, iface: e.iface, family: e.family, vrid: e.vrid, unicast: e.unicastPeers.length > 0 })));
  try {
    const conflicts = await claimVrids(loaded.config);
    if (conflicts.length) {
      for (const c of conflicts) process.stderr.write(`vigil run: ${c}\n`);
      await lock?.release();
      return ExitCode.cannotRun;
    }
    process.on('exit', () => vrids.release());
  } catch (err) {
    // not root, a read-only /run: the check is skipped, not the daemon
    log.warn(`cannot check this host's VRIDs against other vigils: ${(err as Error).message}`);
  }
  const journal = opts['no-journal']
    ? undefined
    : await openJournal(journalDir, {
        // group commit: a batch is written (into the OS, safe from a crash of vigil) within 1 ms of
        // its first event and fdatasynced; events arriving meanwhile join the next batch
        syncIntervalMs: 1,
        // write failures logged; a backlog past its bound drops informational events first, and a
        // journal.recovered event says what was lost once there is room again
        ...journalHooks({ dir: journalDir, log, publish: (d) => bus.publish('journal', bus.node, 'journal.recovered', d) }),
      }).catch((err: Error) => {
        log.error({ err }, `cannot open the journal at ${journalDir}: ${err.message}; events stay in memory only`);
        return undefined;
      });
  // trackers resume from the states they last reported (before we start appending new ones)
  const resume = journal ? await trackerStatesFromJournal(journal).catch(() => new Map<string, 'ok' | 'failed'>()) : undefined;
  if (resume?.size) log.info({ trackers: Object.fromEntries(resume) }, `resuming ${resume.size} track script(s) from the journal`);
  if (journal) {
    bus.subscribe((e) => void journal.append(e.id, e));
    log.info({ journal: journalDir, lastSeq: journal.lastSeq }, `journal ${journalDir}`);
  }

  // NATS JetStream export: drains the journal (the outbox) in order; never in VRRP's way.
  const servers = opts.nats ? opts.nats.split(',') : g.vigil.natsServers;
  let natsExport: NatsExport | undefined;
  if (servers?.length) {
    if (!journal) {
      process.stderr.write('vigil run: --nats needs the journal (its outbox); remove --no-journal or fix the journal path\n');
      return ExitCode.cannotRun;
    }
    const { startNatsExport } = await import('../../adapters/nats/export.js');
    natsExport = startNatsExport(journal, {
      servers,
      stream: opts.stream ?? g.vigil.natsStream ?? 'VIGIL',
      cluster: opts.cluster ?? g.vigil.cluster ?? 'default',
      ...(g.vigil.natsCreds ? { credsFile: g.vigil.natsCreds } : {}),
      ...(g.vigil.natsNkey ? { nkeyFile: g.vigil.natsNkey } : {}),
      ...(g.vigil.natsTls ? { tls: g.vigil.natsTls } : {}),
      log: log.child({ actor: 'nats' }),
      onState: (st) => {
        log.info({ from: st.from, to: st.to, cause: st.cause, pending: st.pending, error: st.error }, `NATS export ${st.from} -> ${st.to} (${st.cause})`);
        bus.publish('nats', 'export', 'nats.state', { from: st.from, to: st.to, cause: st.cause, pending: st.pending });
      },
    });
  }
  const load = (f: string) => loadConfig(f, { host: nodeHost, ...(opts['config-id'] ? { configId: opts['config-id'] } : {}) });
  // the adverts' source address (an interface's primary address) is read again when the kernel
  // reports an address change, and at least once a minute should a notification be lost (the
  // watch ends with the daemon's ip.close())
  const vrrpNet = createRawVrrpNet({ log, addressMaxAgeMs: 60_000, ...(g.logUnknownVrids ? { logUnknownVrids: true } : {}) });
  const ip = createIpNet();
  ip.watchAddresses(() => vrrpNet.addressesChanged());
  const daemon = new Daemon(loaded.config, {
    net: vrrpNet,
    ip,
    log,
    bus,
    ...(resume ? { resume } : {}),
    ...(lb ? { lb } : {}),
    ...(opts['dont-release-ipvs'] ? { lbKeepOnStop: true } : {}),
    ...(opts['dont-release-vrrp'] ? { vrrpKeepOnStop: true } : {}),
    version: VERSION,
    configFile: file,
    // health checks on the main thread when they all run in the native probe engine, else on a
    // thread of their own; VIGIL_CHECKER_THREAD=1 or 0 decides instead
    checkerThread: process.env['VIGIL_CHECKER_THREAD'] === '1' ? true : process.env['VIGIL_CHECKER_THREAD'] === '0' ? false : 'auto',
  });
  // a reload may change global_defs umask (keepalived reads it again)
  bus.subscribe((e) => {
    if (e.type === 'daemon.reloaded') followUmask(daemon.config.global.umask, 'reload');
  });
  // ready from daemon.started until daemon.stopping (/readyz)
  const health = new DaemonHealth(bus);
  // the notifier: keepalived's mails (a durable outbox next to the journal), notify scripts in
  // order per instance, FIFOs; it follows the bus, so it starts before the first transition
  const [{ NotifierActor }, { createDirOutbox, createMemoryOutbox }] = await Promise.all([
    import('../notifier.js'),
    import('../../adapters/mail/outbox.js'),
  ]);
  const notifications = new NotifierActor({
    bus,
    log: log.child({ actor: 'notify' }),
    config: () => daemon.config,
    store: journal ? createDirOutbox(join(journalDir, 'notify-outbox')) : createMemoryOutbox(),
  });
  try {
    await notifications.start();
  } catch (err) {
    // e.g. a vigil_smtp_auth_file that is not mode 0600
    process.stderr.write(`vigil run: ${(err as Error).message}\n`);
    await journal?.close();
    await lock?.release();
    return ExitCode.cannotRun;
  }
  // a daemon lives until it is told to stop, even with no socket open (every instance in FAULT
  // waiting for its interface, or nothing to run yet): signal handlers alone do not keep Node up
  const keepAlive = setInterval(() => undefined, 1 << 30);
  // the web dashboard (with --http); declared before the control API, whose status shows its counters
  let dashboard: Dashboard | undefined;
  const control = new Control({
    daemon,
    notifier,
    claimVrids,
    load,
    log: log.child({ actor: 'control' }),
    version: VERSION,
    extra: () => ({
      ...(journal ? { journal: { dir: journalDir, lastSeq: journal.lastSeq } } : {}),
      ...(dashboard ? { dashboard: dashboard.stats() } : {}),
    }),
  });
  // the control socket: `vigil status`, `vigil reload`; a live one owned by another vigil refuses the start
  const controlPath = opts.control ?? DEFAULT_CONTROL_SOCKET;
  let controlServer: { close(): Promise<void> } | undefined;
  if (controlPath !== 'none') {
    try {
      controlServer = await serveControl(controlPath, control.handle, { onError: (err) => log.warn({ err }, `control socket: ${err.message}`) });
      log.info(`control socket ${controlPath}`);
    } catch (err) {
      process.stderr.write(`vigil run: ${(err as Error).message}\n`);
      await notifications.close();
      await journal?.close();
      await lock?.release();
      clearInterval(keepAlive);
      return ExitCode.cannotRun;
    }
  }
  // the optional HTTP listener: /metrics, /healthz, /readyz and the control API (token rules: adapters/http)
  let httpServer: HttpServer | undefined;
  let metrics: Metrics | undefined;
  if (opts.http !== undefined) {
    // prom-client only when metrics are served (5 MB of a daemon's memory otherwise)
    const { createMetrics } = await import('../metrics.js');
    // the web dashboard (issue #9) on the same listener; its cluster view reads the NATS stream
    const [{ createDashboard }, { daemonActors }] = await Promise.all([import('../dashboard/routes.js'), import('../dashboard/live.js')]);
    const cluster = servers?.length
      ? (await import('../../adapters/nats/history.js')).natsEventLog({
          servers,
          stream: opts.stream ?? g.vigil.natsStream ?? 'VIGIL',
          cluster: opts.cluster ?? g.vigil.cluster ?? 'default',
          ...(g.vigil.natsCreds ? { credsFile: g.vigil.natsCreds } : {}),
          ...(g.vigil.natsNkey ? { nkeyFile: g.vigil.natsNkey } : {}),
          ...(g.vigil.natsTls ? { tls: g.vigil.natsTls } : {}),
        })
      : undefined;
    dashboard = createDashboard({
      node: bus.node,
      bus,
      ...(journal ? { journal } : {}),
      status: () => control.status(),
      actors: () => daemonActors(daemon),
      ...(cluster ? { cluster } : {}),
      log: log.child({ actor: 'dashboard' }),
    });
    const m = (metrics = createMetrics({
      daemon,
      version: VERSION,
      health: health.report,
      vrrpNet: () => vrrpNet.stats(),
      ...(journal ? { journal: () => journal } : {}),
      ...(natsExport ? { nats: natsExport } : {}),
    }));
    try {
      httpServer = await serveHttp({
        listen: opts.http,
        ...(httpToken ? { token: httpToken } : {}),
        handler: control.handle,
        metrics: () => m.text(),
        metricsContentType: m.contentType,
        health: health.report,
        log: log.child({ actor: 'http' }),
        routes: dashboard.routes,
      });
      log.info(`HTTP listener on ${httpServer.address}`);
    } catch (err) {
      process.stderr.write(`vigil run: --http ${opts.http}: ${(err as Error).message}\n`);
      m.close();
      await dashboard.close();
      await notifications.close();
      await controlServer?.close();
      await journal?.close();
      await lock?.release();
      clearInterval(keepAlive);
      return ExitCode.cannotRun;
    }
  }
  // keepalived's signals: HUP reloads (checked first, the old config stays on error), USR1 dumps
  // the state and USR2 the counters to files (keepalived.md §6)
  process.on('SIGHUP', () => {
    log.info('Received SIGHUP, reloading the configuration');
    void control.reload().then((r) => {
      if (!r.ok) log.error(`Reload failed (exit ${r.exitCode}): ${r.error}`);
    });
  });
  process.on('SIGUSR1', () => void dumpState(control, g, log));
  process.on('SIGUSR2', () => void dumpStats(control, g, log));
  // startup_script and shutdown_script (global_defs), each waited for up to its timeout
  let scripts: import('../../adapters/exec/script.js').ScriptRunner | undefined;
  const lifecycle = async (which: 'startup' | 'shutdown', gd: typeof g, signal?: AbortSignal) => {
    if (!(which === 'startup' ? gd.startupScript : gd.shutdownScript)) return;
    scripts ??= (await import('../../adapters/exec/script.js')).createScriptRunner();
    await (await import('../lifecycle-scripts.js')).runLifecycleScript(which, gd, scripts, log, signal);
  };
  const startup = new AbortController();
  let stopRequested = false;
  const stopped = new Promise<number>((resolve) => {
    const stop = (sig: string) => {
      log.info(`Received ${sig}, stopping`);
      notifier.stopping(`stopping on ${sig}`);
      stopRequested = true;
      startup.abort(); // a startup script still running is terminated; nothing starts after it
      daemon
        .stop()
        // before the journal closes: the notifier still publishes (STOP scripts, owed mails)
        .then(() => notifications.close())
        // every instance and checker has stopped: keepalived's shutdown_script runs now
        .then(() => lifecycle('shutdown', daemon.config.global))
        .then(() => httpServer?.close())
        .then(() => dashboard?.close())
        .then(() => {
          metrics?.close();
          health.close();
        })
        .then(() => controlServer?.close())
        .then(() => natsExport?.close())
        .then(() => journal?.close())
        .then(() => lock?.release())
        .then(
        () => resolve(0),
        (err) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await lifecycle('startup', g, startup.signal);
  if (stopRequested) {
    const code = await stopped;
    notifier.close();
    clearInterval(keepAlive);
    return code;
  }
  try {
    await daemon.start();
  } catch (err) {
    log.error({ err }, `cannot start: ${(err as Error).message}`);
    await daemon.stop().catch(() => undefined);
    await notifications.close();
    await httpServer?.close();
    await dashboard?.close();
    metrics?.close();
    clearInterval(keepAlive);
    return ExitCode.cannotRun;
  }
  log.info({ instances: daemon.status() }, 'VRRP started');
  notifier.ready(`${daemon.status().length} VRRP instance(s) running`);
  child?.ready();
  // what the start (and later reloads, bursts) freed goes back to the kernel
  const trimmer = startMallocTrim();
  const code = await stopped;
  trimmer.stop();
  notifier.close();
  clearInterval(keepAlive);
  return code;
}
