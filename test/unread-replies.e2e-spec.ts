// Guards a peer's memory against a client that pipelines many large pulls
// and never reads the replies (issue 8: 600 pulls of 1 MiB messages grew a
// peer from 112 to 794 MiB): the replies it holds for one connection are
// bounded (MAX_QUEUED_REPLY_BYTES), requests past the bound are refused
// with LIMIT_EXCEEDED and their own ids, every request gets exactly one
// reply once the client reads, and no consumer moves for replies pulled
// without ack or replayed.
import { readFileSync } from 'fs';
import { PeerClient } from '@p2p-pubsub/client';
import { PeerPatterns } from '@p2p-pubsub/protocol';
import { Cluster, startCluster } from './support/cluster';
import { RawConnection, nestFrame, parseNestFrames } from './support/raw-socket';
import { waitFor } from './support/wait';

const MESSAGE_CHARS = 1_000_000;
const PULLS = 600;
/** Far below what holding every reply takes (600 MiB and more), well above an idle peer. */
const PEAK_BOUND_MIB = 400;

/** The peak resident set of a process so far (VmHWM), in MiB. */
function peakMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe('a client that pipelines 600 pulls of 1 MiB messages and does not read', () => {
  let cluster: Cluster;
  let client: PeerClient;

  beforeAll(async () => {
    cluster = await startCluster(1);
    client = cluster.clients[0];
    await client.createTopic('Large');
    for (let i = 0; i < 4; i++) await client.publish('Large', String(i).repeat(MESSAGE_CHARS));
  });

  afterAll(() => cluster?.stop());

  it('keeps the peer within bounds, refuses what is past them, and moves no consumer', async () => {
    const peer = cluster.peers[0];
    const raw = new RawConnection(peer.port);
    raw.socket.pause();
    const requests = Array.from({ length: PULLS }, (_, id) =>
      nestFrame({
        pattern: PeerPatterns.Pull,
        data:
          id % 2 === 0
            ? { topic: 'Large', fromOffset: id % 4 }
            : { topic: 'Large', consumer: 'slow', autoAck: false },
        id,
      }),
    );
    const mark = peer.output.length;
    await raw.write(requests.join(''));
    // The peer refuses what does not fit as soon as it has read the requests.
    await peer.waitForLog(/refused a request from 127\.0\.0\.1: .*MAX_QUEUED_REPLY_BYTES/, mark);
    const peak = peakMiB(peer.pid);

    raw.socket.resume();
    const replies = await waitFor(
      () => {
        const frames = parseNestFrames(raw.text);
        return frames.length === PULLS && frames;
      },
      { what: `${PULLS} replies` },
    );
    raw.destroy();

    expect(replies.map((reply) => reply.id).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: PULLS }, (_, id) => id),
    );
    const refused = replies.filter(
      (reply) => (reply.err as { code?: string } | undefined)?.code === 'LIMIT_EXCEEDED',
    );
    const answered = replies.filter((reply) => reply.response !== undefined);
    expect(refused.length).toBeGreaterThan(0);
    expect(answered.length).toBeGreaterThan(0);
    expect(refused.length + answered.length).toBe(PULLS);
    expect(peak).toBeLessThan(PEAK_BOUND_MIB);
    expect(peakMiB(peer.pid)).toBeLessThan(PEAK_BOUND_MIB);

    // Replays and pulls without ack moved nobody.
    const next = await client.pull('Large', { consumer: 'slow', max: 1 });
    expect(next.messages.map((message) => message.offset)).toEqual([0]);
  });
});
