import { createHash, randomBytes } from 'crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, unlinkSync } from 'fs';
import { rename, rm } from 'fs/promises';
import { basename, dirname, join } from 'path';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { IncarnationReset, LimitExceededError, PeerAddress } from '@p2p-pubsub/protocol';
import { PeerConfig } from '../peer.config';
import { DataDirectory } from './data-directory';
import { OpenFiles } from './open-files';
import { SegmentLog } from './segment-log';
import { StateJournal, StateJournalOptions } from './state-journal';
import { storageError } from './storage-errors';
import { LogRecord, TopicLog } from './topic-log';

/** `hosted`: this peer owns the topic. `replica`: a copy pushed by its host. */
export type LogRole = 'hosted' | 'replica';

/** The claim a log belongs to: see TopicClaim in libs/protocol. */
export interface Incarnation {
  /** The claim's epoch: a host refuses requests naming another one. */
  readonly epoch: number;
  /** Names this log: a new claim of the name starts a new log, offsets from the start. */
  readonly incarnation: string;
}

export interface StoredTopic extends Incarnation {
  readonly role: LogRole;
  readonly log: TopicLog;
  /** A replica's host, as last subscribed to. */
  readonly host?: PeerAddress;
}

/** What a topic directory's meta journal holds, under the key `topic`. */
interface TopicMeta extends Incarnation {
  topic: string;
  role: LogRole;
  host?: PeerAddress;
}

/**
 * The meta journal also keeps, under `reset/<consumer>`, what each consumer
 * of an incarnation this one replaced is still to be told (ConsumersService).
 */
type MetaValue = TopicMeta | IncarnationReset;
const RESET_KEY = 'reset/';

interface TopicEntry extends StoredTopic {
  dir: string;
  meta: StateJournal<MetaValue>;
  journals: Map<string, StateJournal<unknown>>;
}

/** Where a topic's log went when this peer stopped hosting it without deleting it. */
export interface RetiredTopic extends Incarnation {
  path: string;
  firstOffset: number;
  nextOffset: number;
}

type TopicListener = (topic: string) => void;

const META_JOURNAL = 'meta.journal';
/** Under the data directory: logs of topics this peer stopped hosting because another peer holds the name now. */
const RETIRED_DIR = 'retired';
/** What a topic directory written before incarnations existed is taken to be (and tests' topics). */
const LEGACY_INCARNATION: Incarnation = { epoch: 0, incarnation: 'legacy' };
/** How often, at most, retention by age is checked (size limits are checked on every roll). */
const MAX_RETENTION_CHECK_MS = 60_000;

/**
 * Owns every topic log this peer keeps, hosted and replicated, on disk under
 * the data directory, and tells the rest of the peer when a log grows
 * (delivery, long polls) or goes away. It also hands each topic's services
 * small journals for their own state (cursors, consumer positions), kept in
 * the topic's directory so they go with it.
 *
 *   <data dir>/LOCK                      held while the peer runs
 *   <data dir>/tombstones.journal        next offset of each deleted hosted topic
 *   <data dir>/topics/<name>-<hash>-<n>/ one per topic incarnation (names may not be valid file names)
 *       meta.journal                     topic name, role, epoch, incarnation, a replica's host
 *       00000000000000000000.log ...     segments, named by base offset
 *       <service>.journal                state the services keep per topic
 *   <data dir>/retired/<dir>/            a hosted topic's log kept after another peer took the name
 *
 * Durability (FSYNC): every append is written to the file before it is
 * acknowledged. `always` also syncs it first (group commit); `interval`
 * syncs every log and journal every FSYNC_INTERVAL_MS.
 *
 * Bounds: at most MAX_TOPICS topics (hosted and replicas), and at most
 * MAX_OPEN_FILES descriptors for all their files (OpenFiles). File system
 * failures reach callers as STORAGE_FULL, STORAGE_ERROR or LIMIT_EXCEEDED
 * (storage-errors.ts), and timers log them and try again later.
 */
@Injectable()
export class LogStore implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('LogStore');
  private readonly topics = new Map<string, TopicEntry>();
  /** Topics being created: counted against the limit, and not created twice. */
  private readonly opening = new Set<string>();
  private readonly files: OpenFiles;
  /** The interval sync is failing: said once, and again when it recovers. */
  private syncFailing = false;
  private readonly appendListeners: TopicListener[] = [];
  private readonly dropListeners: TopicListener[] = [];
  private dataDirectory: DataDirectory;
  private tombstones: StateJournal<number>;
  private topicsDir: string;
  private timers: NodeJS.Timeout[] = [];

  constructor(@Inject(PeerConfig) private readonly config: PeerConfig) {
    this.files = new OpenFiles(config.maxOpenFiles);
  }

  /** Opens the data directory and every topic in it, recovering each log. */
  onModuleInit(): void {
    this.dataDirectory = DataDirectory.open(this.config.dataDir);
    const { path } = this.dataDirectory;
    this.topicsDir = join(path, 'topics');
    mkdirSync(this.topicsDir, { recursive: true });
    this.tombstones = StateJournal.open(
      join(path, 'tombstones.journal'),
      this.journalOptions(true),
    );
    for (const name of readdirSync(this.topicsDir)) this.reopen(join(this.topicsDir, name));
    this.syncRecovered();
    const hosted = this.topicsWithRole('hosted').length;
    this.logger.log(
      `data directory ${path}${this.dataDirectory.temporary ? ' (temporary: no DATA_DIR given on port 0)' : ''}: ` +
        `${hosted} hosted and ${this.topics.size - hosted} replicated topic(s); fsync ${this.config.fsync}; ` +
        `at most ${this.config.maxTopics} topics and ${this.config.maxOpenFiles} open files`,
    );
    this.startTimers();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const [topic, entry] of this.topics) {
      await entry.log
        .close()
        .catch((error: Error) => this.logger.error(`closing '${topic}': ${error.message}`));
      this.closeJournals(entry);
    }
    this.topics.clear();
    this.tombstones.close();
    this.dataDirectory.release();
  }

  get dataPath(): string {
    return this.dataDirectory.path;
  }

  get(topic: string): StoredTopic | undefined {
    return this.topics.get(topic);
  }

  topicsWithRole(role: LogRole): string[] {
    return [...this.topics].filter(([, stored]) => stored.role === role).map(([topic]) => topic);
  }

  /**
   * Refuses a new topic once the peer keeps MAX_TOPICS (hosted and replicas):
   * checked by `open`, and by callers before they claim a name or ask a host.
   */
  assertRoomForTopic(): void {
    if (this.topics.size + this.opening.size < this.config.maxTopics) return;
    throw new LimitExceededError(
      `This peer keeps ${this.config.maxTopics} topics (hosted and subscribed), its MAX_TOPICS limit`,
    );
  }

  /**
   * Creates an empty log for the topic. A hosted topic that was deleted here
   * before goes on from the offset it had reached, so offsets are never
   * reused. The meta journal is written last and synced: it is what makes
   * the directory a topic on the next start. If any step fails (a full
   * disk), the directory is removed and nothing of the topic remains.
   */
  async open(
    topic: string,
    role: LogRole,
    host?: PeerAddress,
    incarnation: Incarnation = LEGACY_INCARNATION,
  ): Promise<StoredTopic> {
    if (this.topics.has(topic) || this.opening.has(topic)) {
      throw new Error(`topic '${topic}' is already open`);
    }
    this.assertRoomForTopic();
    this.opening.add(topic);
    let entry: TopicEntry;
    try {
      entry = await this.create(topic, role, incarnation, host, undefined);
    } finally {
      this.opening.delete(topic);
    }
    this.topics.set(topic, entry);
    await this.clearTombstone(topic, role);
    return entry;
  }

  /**
   * Puts a new incarnation of `topic` in place of the one open, in one step
   * (a pull finds one or the other, never neither), then deletes the old
   * one. `resets` are the old incarnation's consumers, to be told.
   */
  async replace(
    topic: string,
    role: LogRole,
    incarnation: Incarnation,
    host: PeerAddress | undefined,
    resets: Map<string, IncarnationReset>,
  ): Promise<StoredTopic> {
    const entry = await this.create(topic, role, incarnation, host, resets);
    const old = this.topics.get(topic);
    this.topics.set(topic, entry);
    if (old) await this.remove(topic, old);
    await this.clearTombstone(topic, role);
    this.emit(this.appendListeners, topic);
    return entry;
  }

  /**
   * Stops keeping a hosted topic without deleting what it stored: another
   * peer holds the name now, and this log may hold acknowledged messages no
   * one else has. It leaves the map at once (before any await), so nothing
   * is appended to it from here on, and its directory moves under retired/.
   */
  async retire(topic: string): Promise<RetiredTopic | undefined> {
    const entry = this.topics.get(topic);
    if (!entry) return undefined;
    this.topics.delete(topic);
    const retired: RetiredTopic = {
      epoch: entry.epoch,
      incarnation: entry.incarnation,
      firstOffset: entry.log.firstOffset,
      nextOffset: entry.log.nextOffset,
      path: join(this.dataDirectory.path, RETIRED_DIR, basename(entry.dir)),
    };
    this.emit(this.dropListeners, topic);
    if (entry.role === 'hosted') {
      const failure = await attempt(() => this.tombstones.set(topic, retired.nextOffset));
      if (failure) this.logger.warn(`could not record where '${topic}' ended: ${failure.message}`);
    }
    this.closeJournals(entry);
    await entry.log.close();
    try {
      mkdirSync(dirname(retired.path), { recursive: true });
      await rename(entry.dir, retired.path);
      await this.files.syncDirectory(this.topicsDir);
      await this.files.syncDirectory(dirname(retired.path));
    } catch (error) {
      throw storageError(error, `keeping '${topic}' aside`);
    }
    return retired;
  }

  /** What `consumer` is still to be told about the incarnation this one replaced. */
  pendingReset(topic: string, consumer: string): IncarnationReset | undefined {
    return this.topics.get(topic)?.meta.get(RESET_KEY + consumer) as IncarnationReset | undefined;
  }

  /** Every consumer with a reset still to be told, and the reset. */
  pendingResets(topic: string): Map<string, IncarnationReset> {
    const resets = new Map<string, IncarnationReset>();
    for (const [key, value] of this.topics.get(topic)?.meta.entries() ?? []) {
      if (key.startsWith(RESET_KEY))
        resets.set(key.slice(RESET_KEY.length), value as IncarnationReset);
    }
    return resets;
  }

  /** `consumer` has been told (its position in this incarnation is written). */
  async clearReset(topic: string, consumer: string): Promise<void> {
    await this.topics.get(topic)?.meta.delete(RESET_KEY + consumer);
  }

  /**
   * The directory, log and meta journal of a new incarnation of `topic`;
   * removed again if any step fails (a full disk).
   */
  private async create(
    topic: string,
    role: LogRole,
    { epoch, incarnation }: Incarnation,
    host: PeerAddress | undefined,
    resets: Map<string, IncarnationReset> | undefined,
  ): Promise<TopicEntry> {
    const dir = join(this.topicsDir, directoryName(topic));
    let log: SegmentLog | undefined;
    let meta: StateJournal<MetaValue> | undefined;
    try {
      const startOffset = role === 'hosted' ? (this.tombstones.get(topic) ?? 0) : 0;
      log = this.openLog(topic, dir, startOffset);
      meta = StateJournal.open<MetaValue>(join(dir, META_JOURNAL), this.journalOptions(true));
      for (const [consumer, reset] of resets ?? []) await meta.set(RESET_KEY + consumer, reset);
      const saved: TopicMeta = { topic, role, epoch, incarnation };
      if (host) saved.host = host;
      await meta.set('topic', saved);
      // The journal synced the topic's directory; the directory itself is new too.
      await this.files.syncDirectory(this.topicsDir);
    } catch (error) {
      meta?.close();
      await log?.destroy().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw storageError(error, `creating '${topic}'`);
    }
    return { role, log, host, epoch, incarnation, dir, meta, journals: new Map() };
  }

  private async clearTombstone(topic: string, role: LogRole): Promise<void> {
    if (role === 'hosted' && this.tombstones.get(topic) !== undefined) {
      // Cleanup only: a tombstone is read when a topic is created, never while it exists.
      const failure = await attempt(() => this.tombstones.delete(topic));
      if (failure) {
        this.logger.warn(`could not remove the tombstone of '${topic}': ${failure.message}`, {
          topic,
        });
      }
    }
  }

  /**
   * Host side of publish: stamps the next offset, writes the record and, with
   * FSYNC=always, waits for it to be on stable storage. Only then is it
   * acknowledged and offered to delivery.
   */
  async append(topic: string, log: TopicLog, message: string): Promise<LogRecord> {
    const record = log.append(message, Date.now());
    // A failed sync (STORAGE_ERROR) leaves the record in the log: it is served
    // once a later sync covers it, so the publisher's outcome is unknown.
    if (this.config.fsync === 'always') await log.sync();
    this.emit(this.appendListeners, topic);
    return record;
  }

  /**
   * Where reading a log stops. With FSYNC=always a hosted log is read only
   * up to what is synced, which is what publishers have been acknowledged:
   * a record a power loss could still take is never delivered or pulled, so
   * no subscriber or consumer can see an offset the host later reuses.
   */
  readableEnd(stored: StoredTopic): number {
    if (this.config.fsync === 'always' && stored.role === 'hosted') return stored.log.syncedOffset;
    return stored.log.nextOffset;
  }

  /** Subscriber side of delivery: keeps new records, drops duplicates, before the ack. */
  async appendReplica(topic: string, log: TopicLog, records: LogRecord[]): Promise<void> {
    let added = false;
    // A batch cut short by a full disk keeps what fit; the host sends the rest again.
    let failure: unknown;
    try {
      for (const record of records) added = log.appendReplica(record) || added;
    } catch (error) {
      failure = error;
    }
    if (added) {
      if (this.config.fsync === 'always') await log.sync();
      this.emit(this.appendListeners, topic);
    }
    if (failure) throw failure;
  }

  /**
   * Forgets the topic and deletes its directory. A hosted topic leaves a
   * tombstone with its next offset first; removing the meta journal is the
   * point after which a crash cannot bring the topic back.
   *
   * On a full disk the tombstone may not fit: the delete goes on (it frees
   * the topic's space) and the tombstone is written after it. Should that
   * fail too, the log says so: the name created here again would start at
   * offset 0.
   */
  async drop(topic: string): Promise<void> {
    const entry = this.topics.get(topic);
    if (!entry) return;
    // Gone for every caller from now on; the same name may be created again meanwhile.
    this.topics.delete(topic);
    await this.remove(topic, entry);
    this.emit(this.dropListeners, topic);
  }

  /** Deletes an entry no longer in the map (see drop). */
  private async remove(topic: string, entry: TopicEntry): Promise<void> {
    const nextOffset = entry.log.nextOffset;
    let tombstoneFailure =
      entry.role === 'hosted'
        ? await attempt(() => this.tombstones.set(topic, nextOffset))
        : undefined;
    try {
      unlinkSync(join(entry.dir, META_JOURNAL));
    } catch (error) {
      // Still a topic on disk: it stays one here too.
      if (!this.topics.has(topic) && !this.opening.has(topic)) this.topics.set(topic, entry);
      throw storageError(error, `deleting '${topic}'`);
    }
    this.closeJournals(entry);
    // What is left of its files is only disk space now.
    await this.files.syncDirectory(entry.dir).catch(() => undefined);
    await entry.log
      .destroy()
      .catch((error: Error) => this.logger.warn(`removing '${topic}': ${error.message}`));
    await rm(entry.dir, { recursive: true, force: true }).catch((error: Error) =>
      this.logger.warn(`removing ${entry.dir}: ${error.message}`),
    );
    // Removing the topic freed space: a tombstone that did not fit may fit now.
    if (tombstoneFailure) {
      tombstoneFailure = await attempt(() => this.tombstones.set(topic, nextOffset));
    }
    if (tombstoneFailure) {
      this.logger.error(
        `could not record where '${topic}' ended (offset ${nextOffset}): ${tombstoneFailure.message}; created here again, it would start at 0`,
      );
    }
  }

  /**
   * A journal for a service's own state about this topic (`name` is the
   * service's), opened on first use and deleted with the topic.
   */
  journal<V>(topic: string, name: string): StateJournal<V> {
    const entry = this.topics.get(topic);
    if (!entry) throw new Error(`topic '${topic}' is not open`);
    let journal = entry.journals.get(name);
    if (!journal) {
      // Throws a storage error if the file cannot be read; creates nothing.
      journal = StateJournal.open(join(entry.dir, `${name}.journal`), this.journalOptions(false));
      entry.journals.set(name, journal);
    }
    return journal as StateJournal<V>;
  }

  onAppend(listener: TopicListener): void {
    this.appendListeners.push(listener);
  }

  onDrop(listener: TopicListener): void {
    this.dropListeners.push(listener);
  }

  private emit(listeners: TopicListener[], topic: string): void {
    for (const listener of listeners) listener(topic);
  }

  private reopen(dir: string): void {
    if (!existsSync(join(dir, META_JOURNAL))) {
      // Created or deleted half-way when the peer stopped: nothing in it was acknowledged.
      this.removeLeftover(dir);
      return;
    }
    const meta = StateJournal.open<MetaValue>(join(dir, META_JOURNAL), this.journalOptions(true));
    const saved = meta.get('topic') as TopicMeta | undefined;
    if (!saved || this.topics.has(saved.topic)) {
      meta.close();
      this.removeLeftover(dir);
      return;
    }
    const log = this.openLog(saved.topic, dir, 0);
    this.topics.set(saved.topic, {
      role: saved.role,
      log,
      host: saved.host,
      epoch: saved.epoch ?? LEGACY_INCARNATION.epoch,
      incarnation: saved.incarnation ?? LEGACY_INCARNATION.incarnation,
      dir,
      meta,
      journals: new Map(),
    });
  }

  private openLog(topic: string, dir: string, startOffset: number): SegmentLog {
    return SegmentLog.open({
      dir,
      name: topic,
      startOffset,
      segmentBytes: this.config.segmentBytes,
      retention: {
        maxMessages: this.config.retentionMessages,
        maxBytes: this.config.retentionBytes,
        maxAgeMs: this.config.retentionMs,
      },
      reporter: this.logger,
      files: this.files,
    });
  }

  private removeLeftover(dir: string): void {
    this.logger.warn(`removing ${dir}: not a complete topic`);
    // Synchronous on purpose: start-up and create must not race the removal.
    rmSync(dir, { recursive: true, force: true });
  }

  private closeJournals(entry: TopicEntry): void {
    for (const journal of entry.journals.values()) journal.close();
    entry.journals.clear();
    entry.meta.close();
  }

  private journalOptions(alwaysSync: boolean): StateJournalOptions {
    return {
      syncEachWrite: alwaysSync || this.config.fsync === 'always',
      reporter: this.logger,
      files: this.files,
    };
  }

  private startTimers(): void {
    if (this.config.fsync === 'interval') {
      const sync = setInterval(() => this.syncAll(), this.config.fsyncIntervalMs);
      sync.unref();
      this.timers.push(sync);
    }
    const everyMs = Math.min(MAX_RETENTION_CHECK_MS, Math.max(1_000, this.config.retentionMs / 2));
    const retention = setInterval(() => this.trimAll(Date.now()), everyMs);
    retention.unref();
    this.timers.push(retention);
  }

  /** Interval mode: a failed sync is tried again on the next tick (the data stays marked unsynced). */
  /**
   * Makes what a killed process left in the page cache durable, on the
   * thread pool. Until then a log counts nothing as synced, so under
   * FSYNC=always its records are served once this is done (delivery and long
   * polls are woken then).
   */
  private syncRecovered(): void {
    for (const [topic, entry] of this.topics) {
      entry.log.sync().then(
        () => {
          if (this.config.fsync === 'always' && this.topics.get(topic) === entry) {
            this.emit(this.appendListeners, topic);
          }
        },
        (error: Error) =>
          this.logger.error(
            `start-up sync of '${topic}' failed (${error.message}); ${this.config.fsync === 'always' ? 'its records are served once a sync succeeds' : 'the interval sync tries again'}`,
          ),
      );
    }
  }

  private syncAll(): void {
    const work: Array<Promise<void>> = [this.tombstones.sync()];
    for (const entry of this.topics.values()) {
      work.push(entry.log.sync());
      for (const journal of entry.journals.values()) work.push(journal.sync());
    }
    void Promise.allSettled(work).then((results) => {
      const failed = results.find((result) => result.status === 'rejected');
      if (failed && !this.syncFailing) {
        this.logger.error(
          `periodic sync failed: ${(failed.reason as Error).message}; retrying every ${this.config.fsyncIntervalMs} ms`,
        );
      } else if (!failed && this.syncFailing) {
        this.logger.log('periodic sync works again');
      }
      this.syncFailing = failed !== undefined;
    });
  }

  /** A removal that fails (EIO) is logged, and retention tries again next time. */
  private trimAll(now: number): void {
    for (const [topic, entry] of this.topics) {
      try {
        const dropped = entry.log.trim(now);
        if (dropped > 0) this.logger.log(`retention removed ${dropped} message(s) from '${topic}'`);
      } catch (error) {
        this.logger.warn(`retention of '${topic}' failed: ${(error as Error).message}`, { topic });
      }
    }
  }
}

/** Runs a journal change; resolves with its error instead of throwing it. */
async function attempt(change: () => Promise<void>): Promise<Error | undefined> {
  try {
    await change();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/**
 * Topic names allow '.', '..' and 255 characters, and differ only in case on
 * some file systems, so a directory is named by a readable prefix and a hash.
 * A random suffix makes each incarnation of a topic its own directory: one
 * created right after a delete never meets the files the delete is removing.
 */
function directoryName(topic: string): string {
  const hash = createHash('sha256').update(topic).digest('hex').slice(0, 16);
  return `${topic.slice(0, 64)}-${hash}-${randomBytes(4).toString('hex')}`;
}
