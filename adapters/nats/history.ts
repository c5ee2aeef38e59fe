// The cluster's event stream as a log the dashboard folds (actors/dashboard/history.ts EventLog):
// every node's events from JetStream, positioned by stream sequence, read from any point with an
// ordered consumer. One connection, opened at the first read and kept (nats.js reconnects).
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { EventLog, LogEntry } from '../../actors/dashboard/history.js';
import { clusterSubjects } from '../../actors/events.js';
import { authenticator } from './export.js';

export interface NatsLogOptions {
  readonly servers: readonly string[];
  readonly stream: string;
  /** only this cluster's subjects (default: the whole stream) */
  readonly cluster?: string;
  readonly credsFile?: string;
  readonly nkeyFile?: string;
  readonly tls?: { ca?: string; cert?: string; key?: string };
}

export interface NatsEventLog extends EventLog {
  close(): Promise<void>;
}

export function natsEventLog(o: NatsLogOptions): NatsEventLog {
  let conn: Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }> | undefined;
  let closed = false;
  // one subject as a string: servers before 2.10 (Debian's 2.9) refuse the filter_subjects list
  const filter = o.cluster ? { filter_subjects: clusterSubjects(o.cluster) } : {};
  const open = () =>
    (conn ??= (async () => {
      const opts: ConnectionOptions = { servers: [...o.servers], name: 'vigil-dashboard', timeout: 5000, maxReconnectAttempts: -1 };
      const auth = await authenticator(o);
      if (auth) opts.authenticator = auth;
      if (o.tls) opts.tls = { ...(o.tls.ca ? { caFile: o.tls.ca } : {}), ...(o.tls.cert ? { certFile: o.tls.cert } : {}), ...(o.tls.key ? { keyFile: o.tls.key } : {}) };
      const nc = await connect(opts);
      return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
    })().catch((err: unknown) => {
      conn = undefined; // the next read tries again
      throw err;
    }));

  return {
    async lastSeq() {
      const { jsm } = await open();
      return (await jsm.streams.info(o.stream)).state.last_seq;
    },
    async *read(after, opts = {}): AsyncGenerator<LogEntry> {
      if (closed) return;
      const { js } = await open();
      const consumer = await js.consumers.get(o.stream, {
        ...(after > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 } : { deliver_policy: DeliverPolicy.All }),
        ...filter,
      });
      // without follow: stop once caught up (nothing matching after `after`: nothing to wait for)
      if (!opts.follow && ((await consumer.info(true)).num_pending ?? 0) === 0) return;
      const messages = await consumer.consume();
      const stop = () => void messages.close();
      opts.signal?.addEventListener('abort', stop, { once: true });
      try {
        for await (const m of messages) {
          let event: unknown;
          try {
            event = m.json();
          } catch {
            event = undefined; // not JSON: the history skips it and counts it
          }
          yield { seq: m.seq, event };
          if (!opts.follow && m.info.pending === 0) break;
        }
      } finally {
        opts.signal?.removeEventListener('abort', stop);
        await messages.close().catch(() => undefined);
      }
    },
    async close() {
      closed = true;
      const c = await conn?.catch(() => undefined);
      await c?.nc.close().catch(() => undefined);
    },
  };
}
