// Guards the promise made to users of the original system: its README's
// start-up command lines and every `echo '{...}' | ncat localhost <port>`
// example, exactly as written there, work against our indexer and peers on
// the same port as Nest's framed transport. `ncat` itself is emulated with
// a raw socket doing what it does: send the line, half-close, read until the
// server closes.
import { ncat } from './support/bare-json';
import { ENTRY, ServiceProcess } from './support/processes';
import { waitFor } from './support/wait';

/** The original README's start-up commands, verbatim. */
const ORIGINAL_START = {
  indexer: 'python IndexingServer.py --host localhost --port 6000',
  peers: [
    'python PeerNode.py --host localhost --port 5555 --indexing_server_host localhost --indexing_server_port 6000',
    'python PeerNode.py --host localhost --port 5556 --indexing_server_host localhost --indexing_server_port 6000',
    'python PeerNode.py --host localhost --port 5557 --indexing_server_host localhost --indexing_server_port 6000',
  ],
};

/** The original README's examples, verbatim, and its command templates filled in with "Sports". */
const README = {
  create: `echo '{"command": "create_topic", "topic": "Sports"}' | ncat localhost 5555`,
  subscribeFrom5556: `echo '{"command": "subscribe", "topic": "Sports"}' | ncat localhost 5556`,
  subscribeFrom5557: `echo '{"command": "subscribe", "topic": "Sports"}' | ncat localhost 5557`,
  publish: `echo '{"command": "publish", "topic": "Sports", "message": "Football match tonight!"}' | ncat localhost 5555`,
  pullOn5556: `echo '{"command": "pull", "topic": "Sports"}' | ncat localhost 5556`,
  pullOn5557: `echo '{"command": "pull", "topic": "Sports"}' | ncat localhost 5557`,
  delete: `echo '{"command": "delete_topic", "topic": "Sports"}' | ncat localhost 5555`,
  query: `echo '{"command": "query_topic", "topic": "Sports"}' | ncat localhost 6000`,
};

/**
 * Turns an original command line into our process: same flags, with every
 * fixed port replaced, since no fixed port can be assumed free. The process
 * listens on a port of its own choosing (0) and peers are pointed at the
 * indexer's real port.
 */
function fromOriginal(name: string, line: string, indexerPort?: number): ServiceProcess {
  const [, script, ...flags] = line.split(' ');
  const args = flags.map((value, i) => {
    if (flags[i - 1] === '--port') return '0';
    if (flags[i - 1] === '--indexing_server_port') return String(indexerPort);
    return value;
  });
  const entry = script === 'IndexingServer.py' ? ENTRY.indexer : ENTRY.peer;
  return new ServiceProcess(name, entry, args);
}

describe("the original README's ncat examples", () => {
  let indexer: ServiceProcess;
  let peers: ServiceProcess[] = [];
  /** The README's fixed ports, mapped to where our processes really listen. */
  const realPort = new Map<number, number>();

  /** Runs one `echo '<json>' | ncat <host> <port>` line and returns every reply it printed. */
  async function run(line: string): Promise<unknown[]> {
    const match = /^echo '(.*)' \| ncat (\S+) (\d+)$/.exec(line);
    if (!match) throw new Error(`not an ncat example: ${line}`);
    const [, json, host, port] = match;
    // echo adds the newline.
    const output = await ncat(realPort.get(Number(port))!, `${json}\n`, host);
    expect(output.endsWith('\n')).toBe(true);
    return output
      .trimEnd()
      .split('\n')
      .map((reply) => JSON.parse(reply));
  }

  /** The one reply of an ncat line. */
  async function reply(line: string): Promise<any> {
    const replies = await run(line);
    expect(replies).toHaveLength(1);
    return replies[0];
  }

  beforeAll(async () => {
    indexer = await fromOriginal('indexer', ORIGINAL_START.indexer).start();
    peers = ORIGINAL_START.peers.map((line, i) => fromOriginal(`peer${i + 1}`, line, indexer.port));
    await Promise.all(peers.map((peer) => peer.start()));
    realPort.set(6000, indexer.port);
    [5555, 5556, 5557].forEach((readmePort, i) => realPort.set(readmePort, peers[i].port));
  });

  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.stop()));
    await indexer?.stop();
  });

  it("starts from the original's command lines, with its flag names", async () => {
    // Readiness comes from the ready file; a log line may reach us a little later.
    expect(await indexer.waitForLog(/listening on /)).toContain(
      `listening on localhost:${indexer.port}`,
    );
    for (const peer of peers) {
      const registered = await peer.waitForLog(/registered with the indexer/);
      expect(registered).toContain(`at localhost:${indexer.port} as localhost:${peer.port}`);
    }
  });

  // One walkthrough, as in the README: each step needs the ones before it.
  it('runs the walkthrough: create on 5555, query the indexer, subscribe 5556 and 5557, publish, both pull, delete', async () => {
    // Creates the topic on 5555, which the indexer then reports with host and port.
    expect(await reply(README.create)).toEqual({
      status: 'success',
      message: "Topic 'Sports' created",
      topic: 'Sports',
    });
    expect(await reply(README.query)).toMatchObject({
      status: 'success',
      topic: 'Sports',
      host: 'localhost',
      port: peers[0].port,
    });

    // Subscribes 5556 and 5557 to it.
    for (const line of [README.subscribeFrom5556, README.subscribeFrom5557]) {
      expect(await reply(line)).toMatchObject({
        status: 'success',
        topic: 'Sports',
        hostPeer: `localhost:${peers[0].port}`,
      });
    }

    // Publishes on 5555, and both subscribers pull the message.
    expect(await reply(README.publish)).toEqual({
      status: 'success',
      message: "Message published on topic 'Sports'",
      topic: 'Sports',
      offset: 0,
    });
    for (const line of [README.pullOn5556, README.pullOn5557]) {
      // Delivery to subscriber peers is asynchronous: pull until it arrives.
      const pulled = await waitFor(
        async () => {
          const answer = await reply(line);
          expect(answer).toMatchObject({ status: 'success', topic: 'Sports' });
          return answer.messages.length > 0 && answer;
        },
        { what: `the message on ${line.slice(-4)}` },
      );
      expect(pulled.messages).toEqual([
        { offset: 0, message: 'Football match tonight!', publishedAt: expect.any(Number) },
      ]);
    }

    // Deletes the topic, after which publishing gives the original's error.
    expect(await reply(README.delete)).toMatchObject({
      status: 'success',
      message: "Topic 'Sports' deleted",
    });
    expect(await reply(README.publish)).toEqual({
      status: 'error',
      message: "Topic 'Sports' not found",
      code: 'TOPIC_NOT_FOUND',
    });
    expect(await reply(README.query)).toMatchObject({ status: 'error', code: 'TOPIC_NOT_FOUND' });
  });
});
