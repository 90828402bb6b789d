// Guards the payloads no DTO allows but the validation libraries let through
// or choke on (issue 8), on both wires: keys `__proto__`, `constructor` and
// `prototype` were accepted although unknown fields are refused; a lone
// surrogate in a message was acknowledged and stored as U+FFFD, so the
// stored message differed from the acknowledged one; a payload nested
// 100,000 deep answered INTERNAL. Each is now VALIDATION_FAILED, nothing is
// stored, and the peer carries on.
import { PeerPatterns } from '@p2p-pubsub/protocol';
import { BareJsonClient } from './support/bare-json';
import { Cluster, startCluster } from './support/cluster';
import { readLog } from './support/pull';
import { RawConnection, parseNestFrames } from './support/raw-socket';
import { waitFor } from './support/wait';

const TOPIC = 'Strict';
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Publish payloads as JSON text: JSON.stringify cannot write some of them. */
const PUBLISH_PAYLOADS: Array<[string, string]> = [
  ['a __proto__ key', `{"topic": "${TOPIC}", "message": "m", "__proto__": {"polluted": true}}`],
  ['a constructor key', `{"topic": "${TOPIC}", "message": "m", "constructor": "x"}`],
  ['a prototype key', `{"topic": "${TOPIC}", "message": "m", "prototype": {}}`],
  ['a lone high surrogate', `{"topic": "${TOPIC}", "message": "before \\ud83d after"}`],
  ['a lone low surrogate', `{"topic": "${TOPIC}", "message": "\\udc00"}`],
  ['nesting 100,000 deep', `{"topic": "${TOPIC}", "message": ${deep(100_000)}}`],
  ['nesting 40 deep', `{"topic": "${TOPIC}", "message": "m", "extra": ${deep(40)}}`],
];

/** A Nest frame around JSON text: its length counts UTF-16 code units. */
const frame = (json: string) => `${json.length}#${json}`;

describe('payloads refused before validation libraries see them', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(1);
    await cluster.clients[0].createTopic(TOPIC);
  });

  afterAll(() => cluster?.stop());

  const stored = async () => (await readLog(cluster.clients[0], TOPIC)).length;

  it.each(PUBLISH_PAYLOADS)('refuses a publish with %s in a Nest frame', async (_what, payload) => {
    const before = await stored();
    const raw = new RawConnection(cluster.peers[0].port);
    await raw.write(frame(`{"pattern": "${PeerPatterns.Publish}", "data": ${payload}, "id": 9}`));
    const [reply] = await waitFor(
      () => parseNestFrames(raw.text).length > 0 && parseNestFrames(raw.text),
      { what: 'the reply' },
    );
    raw.destroy();
    expect(reply).toMatchObject({
      id: 9,
      err: { status: 'error', code: 'VALIDATION_FAILED', message: expect.any(String) },
    });
    expect(await stored()).toBe(before);
  });

  it.each(PUBLISH_PAYLOADS)(
    'refuses a publish with %s as a bare command',
    async (_what, payload) => {
      const before = await stored();
      const bare = await BareJsonClient.connect(cluster.peers[0].port);
      const command = `{"command": "publish", ${payload.slice(1)}`;
      await expect(bare.request(command)).resolves.toMatchObject({
        status: 'error',
        code: 'VALIDATION_FAILED',
      });
      // The connection carries on.
      await expect(bare.request({ command: 'list_topics' })).resolves.toMatchObject({
        status: 'success',
      });
      await bare.close();
      expect(await stored()).toBe(before);
    },
  );

  it('refuses a lone surrogate in a delivered record and in a pull, too', async () => {
    const deliver = `{"topic": "${TOPIC}", "records": [{"offset": 0, "message": "\\ud800", "publishedAt": 1}]}`;
    await expect(
      cluster.clients[0].send('peer.deliver', JSON.parse(deliver)),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(
      cluster.clients[0].send(PeerPatterns.Pull, { topic: TOPIC, consumer: '\ud800' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('stores a message with surrogate pairs exactly as it was sent', async () => {
    const message = 'emoji 😀 and ☃';
    const { offset } = await cluster.clients[0].publish(TOPIC, message);
    const log = await readLog(cluster.clients[0], TOPIC);
    expect(log.find((record) => record.offset === offset)?.message).toBe(message);
  });
});
