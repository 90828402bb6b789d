/** The subject the NATS comparison publishes on, as a Nest event pattern. */
export const NATS_FAN_OUT_SUBJECT = 'bench.fanout';

/** What a NATS subscriber process tells the bench over IPC. */
export type SubscriberReport =
  | { type: 'ready' }
  /** The publish-to-handler latency of each message received since the last report. */
  | { type: 'received'; latenciesMs: number[] };
