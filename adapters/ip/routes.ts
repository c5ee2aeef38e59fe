// virtual_routes / static_routes through one long-lived `ip -force -batch -` child per family: the
// route words are ip-route syntax, which iproute2 parses best (via, table, metric, src, blackhole,
// encap, ...), and one process for the daemon's lifetime costs nothing per route.
//
// Protocol. stdin gets one `route add|del WORDS` line per route, then a sentinel line that always
// fails (`vigil-sync`, an unknown object). With -force, ip keeps going after a failure and prints the
// error, then `Command failed -:N` with N the line number since the child started, on stderr (not
// buffered, so in order). Successful commands print nothing there. So: errors are matched to
// our lines by N, and the sentinel's `Command failed` says every line before it is done.
//
// Except that iproute2 exit()s on a malformed argument (invarg(): `metric abc`, `10.0.0.0/33`), even
// with -force. Then the batch is replayed one line per `exec`, on a fresh child: add and del are
// idempotent here (EEXIST / ESRCH are success), so replaying lines that already ran is harmless, and
// the line that kills ip again gets its own error.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { errnoOfIpMessage } from './errors.js';
import type { Family, RouteLine, RouteOpResult } from './types.js';

const SENTINEL = 'vigil-sync';

/** Splits `ip -batch` stderr into `{ line, message }` per failed command. Pure; feed it any chunks. */
export class BatchErrorParser {
  private partial = '';
  private message: string[] = [];

  feed(chunk: string): { line: number; message: string }[] {
    const out: { line: number; message: string }[] = [];
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) {
      const m = /^Command failed .*:(\d+)$/.exec(l);
      if (m) {
        out.push({ line: Number(m[1]), message: this.message.join('\n') });
        this.message = [];
      } else if (l.trim() !== '') this.message.push(l.trim());
    }
    return out;
  }

  /** What was printed since the last `Command failed` (the words of a command that made ip exit). */
  unfinished(): string {
    return [...this.message, this.partial.trim()].filter(Boolean).join('\n');
  }
}

/**
 * The words ip gets for a route line, or a reason to refuse it. keepalived-only options are dropped
 * (`no_track`, `track_group NAME`); a word that `ip -batch` would split, quote or treat as a comment
 * is refused, so a config line can never become two commands.
 */
export function routeWords(words: readonly string[]): { ok: true; words: string[] } | { ok: false; detail: string } {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w === 'no_track') continue;
    if (w === 'track_group') { i++; continue; }
    if (!/^[^\s"'#\\]+$/.test(w)) return { ok: false, detail: `route word ${JSON.stringify(w)} cannot be passed to ip` };
    out.push(w);
  }
  if (out.length === 0) return { ok: false, detail: 'empty route' };
  return { ok: true, words: out };
}

interface Pending {
  readonly first: number; // line number of the first route line
  readonly sentinel: number;
  readonly failures: Map<number, string>;
  readonly done: (failures: Map<number, string> | ChildGone) => void;
}

/** The child exited (or could not start) before finishing a batch; `message`: what it said last. */
class ChildGone {
  constructor(readonly why: string, readonly message: string) {}
}

type Child = ChildProcessByStdio<Writable, null, Readable>;

/** One `ip -N -force -batch -` child, spawned at first use and again after it dies. */
export class IpBatch {
  private child: Child | undefined;
  private line = 0;
  private readonly pending: Pending[] = [];
  private parser = new BatchErrorParser();
  private closed = false;

  constructor(private readonly family: Family, private readonly ipPath = 'ip') {}

  /** Run `route VERB words` for each line; per-line results, never rejects. */
  async run(verb: 'add' | 'del', list: readonly RouteLine[]): Promise<RouteOpResult[]> {
    const results: (RouteOpResult | undefined)[] = [];
    const cmds: { index: number; text: string }[] = [];
    list.forEach((spec, index) => {
      const w = routeWords(spec.words);
      if (!w.ok) results[index] = { spec, ok: false, error: 'EINVAL', detail: w.detail };
      else cmds.push({ index, text: `route ${verb} ${w.words.join(' ')}` });
    });
    const outcome = (spec: RouteLine, message: string | undefined): RouteOpResult => {
      if (message === undefined) return { spec, ok: true };
      const code = errnoOfIpMessage(message);
      // idempotent: the route is already there / already gone
      const fine = (verb === 'add' && code === 'EEXIST') || (verb === 'del' && code === 'ESRCH');
      return fine ? { spec, ok: true } : { spec, ok: false, error: code, detail: message };
    };
    if (cmds.length > 0) {
      const got = await this.exec(cmds.map((c) => c.text));
      if (!(got instanceof ChildGone)) {
        cmds.forEach((c, k) => { results[c.index] = outcome(list[c.index] as RouteLine, got.get(k)); });
      } else {
        // ip died somewhere in the batch: replay line by line (see the header)
        for (const c of cmds) {
          const spec = list[c.index] as RouteLine;
          const one = cmds.length === 1 ? got : await this.exec([c.text]);
          results[c.index] = !(one instanceof ChildGone)
            ? outcome(spec, one.get(0))
            : one.message
              ? { spec, ok: false, error: errnoOfIpMessage(one.message), detail: one.message }
              : { spec, ok: false, error: 'ECHILD', detail: one.why };
        }
      }
    }
    return results as RouteOpResult[];
  }

  /** Write the lines and a sentinel; resolves with failures by index into `lines`, or ChildGone. */
  private exec(lines: readonly string[]): Promise<Map<number, string> | ChildGone> {
    if (this.closed) return Promise.resolve(new ChildGone('ip adapter closed', ''));
    const child = this.child ?? this.start();
    const first = this.line + 1;
    this.line += lines.length + 1;
    return new Promise((resolve) => {
      this.pending.push({
        first, sentinel: this.line, failures: new Map(),
        done: (r) => resolve(r instanceof ChildGone ? r : new Map([...r].map(([n, m]) => [n - first, m]))),
      });
      this.setRef(true);
      child.stdin.write(`${lines.join('\n')}\n${SENTINEL}\n`);
    });
  }

  private start(): Child {
    const child = spawn(this.ipPath, [`-${this.family}`, '-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    this.line = 0;
    this.parser = new BatchErrorParser();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      for (const { line, message } of this.parser.feed(chunk)) this.failed(line, message);
    });
    child.stdin.on('error', () => { /* EPIPE: reported through 'close' */ });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      const last = this.parser.unfinished();
      this.pending.splice(0).forEach((p, i) => p.done(new ChildGone(why, i === 0 ? last : '')));
    };
    child.on('error', (err) => gone(`ip: ${err.message}`));
    // 'close', not 'exit': by then stderr has been read to the end, last words included
    child.on('close', (code, signal) => gone(`ip exited (${signal ?? code})`));
    return child;
  }

  private failed(line: number, message: string): void {
    const head = this.pending[0];
    if (!head) return;
    if (line === head.sentinel) {
      this.pending.shift();
      if (this.pending.length === 0) this.setRef(false);
      head.done(head.failures);
    } else if (line >= head.first) head.failures.set(line, message);
  }

  /** Keep the event loop alive only while a batch is in flight. */
  private setRef(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdin, c.stderr] as { ref(): void; unref(): void }[]) on ? h.ref() : h.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.child;
    if (!c) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.stdin.end();
    const t = setTimeout(() => c.kill('SIGKILL'), 1000);
    await exited;
    clearTimeout(t);
  }
}
