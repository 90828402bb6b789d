import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import {
  ClaimResult,
  ErrorCodes,
  HeartbeatResult,
  LookupResult,
  PeerUnavailableError,
  PubSubError,
  RegisterResult,
  SuccessReply,
  TopicClaim,
  TopicExistsError,
  TopicNotFoundError,
  UnknownPeerError,
} from '@p2p-pubsub/protocol';
import { OpsModule, Security } from '@p2p-pubsub/server';
import {
  INDEXER_CLIENT,
  PEER_CONNECTION_FACTORY,
  PeerConnectionFactory,
} from '../links/links.tokens';
import { PeerConfig, loadPeerConfig } from '../peer.config';
import { PeerIdentity } from '../peer-identity';
import { PeerModule } from '../peer.module';

/**
 * Fakes for the peer's two links (substituted through their DI tokens) and
 * a peer module built with them, for unit tests of the services.
 */

interface Holder extends TopicClaim {
  peerId: string;
  host: string;
  port: number;
}

/**
 * An indexer in memory with the real one's rules for claims and lists, and
 * hooks to delay or fail any call (`gate`). Every call is recorded.
 */
export class FakeIndexerClient {
  readonly address = 'fake-indexer:6000';
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  readonly claims = new Map<string, Holder>();
  readonly registered = new Set<string>();
  leaseMs = 10_000;
  topicsVersion = 1;
  private lastEpoch = 1_000;
  /** Runs before a call is answered: throw to fail it, await to hold it back. */
  gate: (method: string, args: unknown[]) => Promise<void> | void = () => undefined;

  /** Makes `peerId` hold `topic`, as another peer's claim or an old claim of this one. */
  hold(topic: string, peerId: string, epoch = ++this.lastEpoch): Holder {
    const [host, port] = peerId.split(':');
    const holder = { topic, peerId, host, port: Number(port), epoch, incarnation: `inc${epoch}` };
    this.claims.set(topic, holder);
    this.lastEpoch = Math.max(this.lastEpoch, epoch);
    this.topicsVersion++;
    return holder;
  }

  /** Answered as of the moment it arrives; `gate` only holds the answer back. */
  async register(host: string, port: number, topics: TopicClaim[] = []): Promise<RegisterResult> {
    const peerId = `${host}:${port}`;
    this.registered.add(peerId);
    for (const claim of topics) {
      const held = this.claims.get(claim.topic);
      if (!held || held.epoch < claim.epoch) this.hold(claim.topic, peerId, claim.epoch);
    }
    const result: RegisterResult = {
      status: 'success',
      message: 'registered',
      peerId,
      leaseMs: this.leaseMs,
      indexerId: 'fake-indexer',
      topics: this.heldBy(peerId),
      topicsVersion: this.topicsVersion,
    };
    await this.enter('register', [host, port, topics]);
    return result;
  }

  /** Answered as of the moment it arrives; `gate` only holds the answer back. */
  async heartbeat(peerId: string, topicsVersion?: number): Promise<HeartbeatResult> {
    const known = this.registered.has(peerId);
    const result: HeartbeatResult = {
      status: 'success',
      message: 'ok',
      peerId,
      leaseMs: this.leaseMs,
      topicsVersion: this.topicsVersion,
    };
    if (topicsVersion !== this.topicsVersion) result.topics = this.heldBy(peerId);
    await this.enter('heartbeat', [peerId, topicsVersion]);
    if (!known) throw new UnknownPeerError(peerId);
    return result;
  }

  async lookup(topic: string): Promise<LookupResult> {
    await this.enter('lookup', [topic]);
    const held = this.claims.get(topic);
    if (!held) throw new TopicNotFoundError(topic);
    return { status: 'success', message: 'found', ...held };
  }

  async claimTopic(topic: string, peerId: string): Promise<ClaimResult> {
    await this.enter('claimTopic', [topic, peerId]);
    if (!this.registered.has(peerId)) throw new UnknownPeerError(peerId);
    const held = this.claims.get(topic);
    if (held && held.peerId !== peerId) throw new TopicExistsError(topic, held.peerId);
    const claim = this.hold(topic, peerId);
    return { status: 'success', message: 'created', ...claim };
  }

  async releaseTopic(topic: string, peerId: string, epoch?: number): Promise<ClaimResult> {
    await this.enter('releaseTopic', [topic, peerId, epoch]);
    const held = this.claims.get(topic);
    if (!held) throw new TopicNotFoundError(topic);
    if (held.peerId !== peerId) throw new PubSubError(ErrorCodes.NotOwner, 'not yours');
    if (epoch !== undefined && held.epoch !== epoch)
      throw new PubSubError(ErrorCodes.StaleEpoch, 'stale');
    this.claims.delete(topic);
    this.topicsVersion++;
    return { status: 'success', message: 'deleted', ...held };
  }

  async unregister(peerId: string): Promise<SuccessReply> {
    await this.enter('unregister', [peerId]);
    this.registered.delete(peerId);
    return { status: 'success', message: 'unregistered' };
  }

  async close(): Promise<void> {}

  /** How many calls of `method` were made. */
  count(method: string): number {
    return this.calls.filter((call) => call.method === method).length;
  }

  private heldBy(peerId: string): TopicClaim[] {
    return [...this.claims.values()]
      .filter((held) => held.peerId === peerId)
      .map(({ topic, epoch, incarnation }) => ({ topic, epoch, incarnation }));
  }

  private async enter(method: string, args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    await this.gate(method, args);
  }
}

export type PeerHandler = (pattern: string, data: any) => unknown;

/**
 * The other peers, as handlers per address. A request to an address with no
 * handler fails as a refused connection does (PEER_UNAVAILABLE, unsent).
 */
export class FakePeers {
  readonly requests: Array<{ address: string; pattern: string; data: any }> = [];
  private readonly handlers = new Map<string, PeerHandler>();

  readonly factory: PeerConnectionFactory = (host, port) => ({
    request: <T>(pattern: string, data: unknown) =>
      this.dispatch(`${host}:${port}`, pattern, data) as Promise<T>,
    close: async () => undefined,
  });

  handle(address: string, handler: PeerHandler): void {
    this.handlers.set(address, handler);
  }

  refuse(address: string): void {
    this.handlers.delete(address);
  }

  to(address: string, pattern?: string) {
    return this.requests.filter(
      (request) =>
        request.address === address && (pattern === undefined || request.pattern === pattern),
    );
  }

  private async dispatch(address: string, pattern: string, data: unknown): Promise<unknown> {
    this.requests.push({ address, pattern, data });
    const handler = this.handlers.get(address);
    if (!handler) {
      throw new PeerUnavailableError(address, 'connect ECONNREFUSED', { unsent: true });
    }
    return handler(pattern, data);
  }
}

export const PEER_PORT = 7001;
export const PEER_ID = `127.0.0.1:${PEER_PORT}`;

/**
 * A peer's module with the fakes in place of its links, its data in a
 * temporary directory, initialised (IndexerLink not started: tests start it).
 */
export async function startTestPeer(
  indexer: FakeIndexerClient,
  peers: FakePeers,
  overrides: Partial<PeerConfig> = {},
): Promise<TestingModule> {
  Logger.overrideLogger(false);
  const config = Object.assign(loadPeerConfig([], {}), {
    port: 0,
    dataDir: undefined,
    ...overrides,
  });
  const moduleRef = await Test.createTestingModule({
    // As startService puts them together, with metrics off (no ops port).
    imports: [
      PeerModule.forRoot(config, Security.load(config, 'peer')),
      OpsModule.forRoot({ role: 'peer', metricsEnabled: false, topicLabels: false }),
    ],
  })
    .overrideProvider(INDEXER_CLIENT)
    .useValue(indexer)
    .overrideProvider(PEER_CONNECTION_FACTORY)
    .useValue(peers.factory)
    .compile();
  moduleRef.get(PeerIdentity).port = PEER_PORT;
  await moduleRef.init();
  return moduleRef;
}

/** A promise and the functions that settle it, for holding a fake's answer back. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Resolves once `check` holds, for what file-system work settles (which
 * fake timers do not drive); fails after `tries` turns of the event loop.
 */
export async function eventually(check: () => boolean, tries = 10_000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`still not so after ${tries} turns of the event loop`);
}
