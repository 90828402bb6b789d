/** The topic the PubSubServer fan-out publishes on. */
export const PUBSUB_FAN_OUT_TOPIC = 'bench-nest-fanout';
/** The topic whose handler never resolves (the stalled-consumer memory row). */
export const STALL_TOPIC = 'bench-stall';
/** The JetStream stream and subject of the JetStream fan-out. */
export const JETSTREAM_STREAM = 'BENCH';
export const JETSTREAM_SUBJECT = 'bench.jetstream';
