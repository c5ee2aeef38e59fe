// Reading the event stream back from JetStream (`vigil events --nats`, `vigil history --nats`):
// an ordered consumer over the cluster's subjects, from the start, optionally following new events.
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { BusEvent } from '../../actors/bus.js';
import { clusterSubjects, isBusEvent } from '../../actors/events.js';

export interface ReadStreamOptions {
  servers: string[];
  stream: string;
  /** only this cluster's subjects (default: the whole stream) */
  cluster?: string;
}

export async function readStream(o: ReadStreamOptions) {
  const nc = await connect({ servers: o.servers, timeout: 5000 });
  const js = jetstream(nc);
  let closed = false;
  /** messages on the subjects that are not vigil events (foreign, malformed): skipped */
  let skipped = 0;
  const close = async () => {
    if (closed) return;
    closed = true;
    await nc.close().catch(() => undefined);
  };
  return {
    async *events(follow: boolean): AsyncGenerator<BusEvent> {
      const consumer = await js.consumers.get(o.stream, {
        deliver_policy: 'all',
        // one subject as a string: servers before 2.10 (Debian's 2.9) refuse the filter_subjects list
        ...(o.cluster ? { filter_subjects: clusterSubjects(o.cluster) } : {}),
      });
      // without follow: stop once caught up (the stream's message count at the start)
      const info = await consumer.info(true).catch(() => undefined);
      let left = follow ? Infinity : (info?.num_pending ?? 0);
      if (left === 0) return;
      const messages = await consumer.consume();
      try {
        for await (const m of messages) {
          if (closed) break;
          let e: unknown;
          try {
            e = m.json();
          } catch {
            e = undefined;
          }
          if (isBusEvent(e)) yield e;
          else skipped++;
          if (!follow && (--left <= 0 || m.info.pending === 0)) break;
        }
      } finally {
        await messages.close().catch(() => undefined);
      }
    },
    close,
    skipped: () => skipped,
  };
}
