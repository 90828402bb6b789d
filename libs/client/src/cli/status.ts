import { request } from 'http';
import type { ConnectionOptions } from 'tls';
import type { ConsumerListResult, PeerListResult, PeerTopicsResult } from '@p2p-pubsub/protocol';
import type { IndexerClient } from '../indexer-client';
import { PeerClient } from '../peer-client';

/** A peer as `pubsub status` sees it. */
export interface PeerStatus {
  peerId: string;
  host: string;
  port: number;
  opsPort?: number;
  /**
   * `ready`/`not ready`: its /health/ready said so; `unreachable`: it did not
   * answer in time; `up`: it answered but serves no ops port to ask.
   */
  health: 'ready' | 'not ready' | 'unreachable' | 'up';
  /** The readiness checks that failed, by name. */
  failedChecks: string[];
  hosted: number;
  /** Missing when the peer did not answer. */
  subscribed?: number;
  /** Milliseconds since the indexer last heard from it. */
  lastSeenMsAgo: number;
}

export interface ClusterStatus {
  indexer: string;
  peers: PeerStatus[];
  /** Every topic with a host; endOffset and subscribers are missing when the host did not answer. */
  topics: Array<{ topic: string; host: string; endOffset?: number; subscribers?: number }>;
  /** Subscriber peers of each topic, as their host's delivery sees them. */
  subscribers: Array<{
    topic: string;
    host: string;
    subscriber: string;
    nextOffset: number;
    endOffset: number;
    lag: number;
    retries: number;
  }>;
  /** Named consumers on every peer that answered. */
  consumers: Array<{
    peer: string;
    topic: string;
    consumer: string;
    nextOffset: number;
    endOffset: number;
    lag: number;
  }>;
}

export interface StatusOptions {
  /** Bound on each call to a peer (and its ops port). */
  timeoutMs: number;
  /** Reach every peer at this address rather than the one it registered (compose, from the host). */
  connectHost?: string;
  /** TLS options and token for the peers, with security on. */
  peerTls?: ConnectionOptions;
  token?: string;
}

interface PeerReplies {
  topics?: PeerTopicsResult;
  consumers?: ConsumerListResult;
  health?: { status: number; failed: string[] };
}

/**
 * The cluster at a glance: the indexer's peers and topics, then every peer
 * in parallel: its topics, its consumers and subscriber peers (list_consumers)
 * and its /health/ready. A peer that does not answer within the timeout is
 * `unreachable`; the rest is reported all the same.
 */
export async function collectStatus(
  indexer: IndexerClient,
  options: StatusOptions,
): Promise<ClusterStatus> {
  const [{ peers }, { topics }] = await Promise.all([indexer.listPeers(), indexer.listTopics()]);
  const replies = await Promise.all(peers.map((peer) => askPeer(peer, options)));
  const now = Date.now();

  const status: ClusterStatus = {
    indexer: indexer.address,
    peers: [],
    topics: [],
    subscribers: [],
    consumers: [],
  };
  const byPeer = new Map<string, PeerReplies>();
  peers.forEach((peer, i) => {
    const reply = replies[i];
    byPeer.set(peer.peerId, reply);
    const answered = reply.topics !== undefined || reply.consumers !== undefined;
    status.peers.push({
      peerId: peer.peerId,
      host: peer.host,
      port: peer.port,
      ...(peer.opsPort === undefined ? {} : { opsPort: peer.opsPort }),
      health: healthOf(reply, answered),
      failedChecks: reply.health?.failed ?? [],
      hosted: reply.topics?.hosted.length ?? peer.topics.length,
      ...(reply.topics ? { subscribed: reply.topics.subscribed.length } : {}),
      lastSeenMsAgo: Math.max(0, now - peer.lastSeenAt),
    });
    for (const consumer of reply.consumers?.consumers ?? []) {
      status.consumers.push({ peer: peer.peerId, ...consumer });
    }
    for (const { peerId, ...cursor } of reply.consumers?.subscribers ?? []) {
      status.subscribers.push({ host: peer.peerId, subscriber: peerId, ...cursor });
    }
  });
  for (const { topic, peerId } of topics) {
    const hosted = byPeer.get(peerId)?.topics?.hosted.find((entry) => entry.topic === topic);
    status.topics.push({
      topic,
      host: peerId,
      ...(hosted ? { endOffset: hosted.nextOffset, subscribers: hosted.subscribers.length } : {}),
    });
  }
  status.topics.sort((a, b) => a.topic.localeCompare(b.topic));
  status.subscribers.sort((a, b) => a.topic.localeCompare(b.topic));
  status.consumers.sort((a, b) => a.peer.localeCompare(b.peer) || a.topic.localeCompare(b.topic));
  return status;
}

function healthOf(reply: PeerReplies, answered: boolean): PeerStatus['health'] {
  if (reply.health) return reply.health.status === 200 ? 'ready' : 'not ready';
  return answered ? 'up' : 'unreachable';
}

async function askPeer(
  peer: PeerListResult['peers'][number],
  options: StatusOptions,
): Promise<PeerReplies> {
  const host = options.connectHost ?? peer.host;
  const client = new PeerClient({
    host,
    port: peer.port,
    requestTimeoutMs: options.timeoutMs,
    tls: options.peerTls,
    token: options.token,
  });
  try {
    const [topics, consumers, health] = await Promise.all([
      client.listTopics().catch(() => undefined),
      client.listConsumers().catch(() => undefined),
      peer.opsPort === undefined
        ? undefined
        : readiness(host, peer.opsPort, options.timeoutMs).catch(() => undefined),
    ]);
    return { topics, consumers, health };
  } finally {
    await client.close();
  }
}

/** GET /health/ready: its status code and the checks its body lists as failed. */
function readiness(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ status: number; failed: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: '/health/ready', agent: false, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          let failed: string[] = [];
          try {
            failed = Object.keys((JSON.parse(body) as { error?: object }).error ?? {});
          } catch {
            // Not Terminus's body: the status code still says it.
          }
          resolve({ status: res.statusCode ?? 0, failed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The status as the tables `pubsub status` prints. */
export function formatStatus(status: ClusterStatus): string {
  const sections = [
    `indexer ${status.indexer}: ${status.peers.length} peer(s), ${status.topics.length} topic(s)`,
    table(
      'Peers',
      ['peer', 'tcp', 'ops', 'health', 'hosted', 'subscribed', 'last heartbeat'],
      status.peers.map((peer) => [
        peer.peerId,
        String(peer.port),
        peer.opsPort === undefined ? '-' : String(peer.opsPort),
        peer.failedChecks.length > 0
          ? `${peer.health} (${peer.failedChecks.join(', ')})`
          : peer.health,
        String(peer.hosted),
        peer.subscribed === undefined ? '?' : String(peer.subscribed),
        `${(peer.lastSeenMsAgo / 1000).toFixed(1)} s ago`,
      ]),
    ),
    table(
      'Topics',
      ['topic', 'host', 'end offset', 'subscribers'],
      status.topics.map((topic) => [
        topic.topic,
        topic.host,
        topic.endOffset === undefined ? '?' : String(topic.endOffset),
        topic.subscribers === undefined ? '?' : String(topic.subscribers),
      ]),
    ),
    table(
      'Subscribers',
      ['topic', 'host', 'subscriber', 'next offset', 'lag', 'retries'],
      status.subscribers.map((entry) => [
        entry.topic,
        entry.host,
        entry.subscriber,
        String(entry.nextOffset),
        String(entry.lag),
        String(entry.retries),
      ]),
    ),
    table(
      'Consumers',
      ['peer', 'topic', 'consumer', 'next offset', 'lag'],
      status.consumers.map((entry) => [
        entry.peer,
        entry.topic,
        entry.consumer,
        String(entry.nextOffset),
        String(entry.lag),
      ]),
    ),
  ];
  return `${sections.join('\n\n')}\n`;
}

function table(title: string, header: string[], rows: string[][]): string {
  if (rows.length === 0) return `${title}: none`;
  const widths = header.map((name, i) =>
    Math.max(name.length, ...rows.map((row) => row[i].length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [title, line(header.map((name) => name.toUpperCase())), ...rows.map(line)].join('\n');
}
