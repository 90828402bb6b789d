import { BenchCluster } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { stampedMessage } from '../clock';
import { measure, measurePaired } from '../drive';
import { LatencyRow } from '../results';
import { fanOutRow, measureFanOut } from './fan-out.workload';
import { PAYLOADS, latencyRow } from './request-matrix';

const TOPIC = 'bench-tls';
export const TLS_PUBLISH_128 = 'publish-host-tls-100B-x128';

/**
 * What security costs: publish on the host at 1 and 128 in flight, and the
 * fan-out, on a second cluster with security on (TLS 1.3, certificates,
 * guards, the permissions file), each quoted against the same workload on
 * the plaintext cluster in the same run. At 1 in flight the two take turns
 * (as the echo pairing does); at 128 each runs twice, alternating, and the
 * second runs are compared, so that both see the same machine. The fan-out
 * is quoted against the plaintext fan-out row (measured earlier in the run),
 * which is measured here first when the fanout family was not run.
 */
export async function runTls(
  plain: BenchCluster,
  secure: BenchCluster,
  sizes: Sizes,
  plainFanOut: LatencyRow | undefined,
): Promise<LatencyRow[]> {
  const payload = PAYLOADS[0];
  const [plainHost] = plain.peers;
  const [secureHost] = secure.peers;
  await plainHost.client.createTopic(TOPIC);
  await secureHost.client.createTopic(TOPIC);
  const plainPublish = () => plainHost.client.publish(TOPIC, stampedMessage(payload.bytes));
  const securePublish = () => secureHost.client.publish(TOPIC, stampedMessage(payload.bytes));
  const rows: LatencyRow[] = [];

  const single = await measurePaired(securePublish, plainPublish, sizes.serial);
  rows.push({
    ...latencyRow(
      'publish-host-tls-100B-x1',
      `publish on the host over TLS, ${payload.label} ×1`,
      single.measured,
    ),
    pairedEcho: { p50Ms: single.reference.p50Ms, throughput: single.reference.perSecond },
    reference: 'plaintext',
  });

  let plainMany = await measure(plainPublish, 128, sizes.concurrent);
  let secureMany = await measure(securePublish, 128, sizes.concurrent);
  plainMany = await measure(plainPublish, 128, sizes.concurrent);
  secureMany = await measure(securePublish, 128, sizes.concurrent);
  rows.push({
    ...latencyRow(
      TLS_PUBLISH_128,
      `publish on the host over TLS, ${payload.label} ×128`,
      secureMany,
    ),
    pairedEcho: { p50Ms: plainMany.p50Ms, throughput: plainMany.perSecond },
    reference: 'plaintext',
  });

  if (!plainFanOut) {
    rows.push(
      fanOutRow(
        'fanout-pubsub',
        'fan-out to 3 subscriber peers, 100 B',
        await measureFanOut(plain, sizes, 'bench-fanout-plaintext'),
      ),
    );
  }
  const secureFanOut = await measureFanOut(secure, sizes, 'bench-fanout-tls');
  rows.push({
    ...fanOutRow(
      'fanout-pubsub-tls',
      'fan-out to 3 subscriber peers over TLS, 100 B',
      secureFanOut,
    ),
    echoId: 'fanout-pubsub',
    reference: 'plaintext',
  });
  return rows;
}
