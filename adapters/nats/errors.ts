// Errors of the NATS export (nats.js style: one class per failure, `name` set, `cause` chained).

/** The JetStream stream exists but cannot hold our events (or cannot be created beside another). */
export class StreamMismatchError extends Error {
  override readonly name = 'StreamMismatchError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
