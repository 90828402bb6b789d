import {
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  readSync,
  unlinkSync,
  writeSync,
} from 'fs';
import { join } from 'path';
import { StorageError } from '@p2p-pubsub/protocol';
import { OpenFiles, PooledFile } from './open-files';
import {
  HEADER_BYTES,
  MAX_RECORD_MESSAGE_BYTES,
  checksumMatches,
  decodeMessage,
  readHeader,
} from './record-format';
import { LogRecord } from './topic-log';

/** One sparse index entry per this many bytes of records (as Kafka does). */
const INDEX_INTERVAL_BYTES = 4096;
/** Reads pull this much of a segment at a time. */
const READ_CHUNK_BYTES = 64 * 1024;
/** Recovery reads whole segments sequentially, in larger chunks. */
const RECOVERY_CHUNK_BYTES = 1024 * 1024;
/** What a record costs against a read's byte budget besides its message (envelope on the wire). */
const RECORD_OVERHEAD_BYTES = 48;

const FILE_NAME = /^(\d{20})\.log$/;

/** Bounds shared by every segment one read goes through. */
export interface ReadBudget {
  maxRecords: number;
  maxBytes: number;
  bytes: number;
  /** Set once the byte budget stopped the read. */
  full: boolean;
}

/** What recovery cut from a segment's tail, for the log line an operator reads. */
export interface SegmentDamage {
  fileName: string;
  droppedBytes: number;
  reason: string;
  /** The last whole record kept, if any. */
  lastOffset?: number;
}

/**
 * One file of a topic log: records with offsets at or above `baseOffset`
 * (its name), appended at the end, with an in-memory sparse index (offset to
 * file position) rebuilt by the recovery scan. Only the last segment of a log
 * is appended to. Its descriptor comes from the peer's pool of open files
 * (OpenFiles): opened when used, closed when others are used more, so a peer
 * with many topics does not run out of descriptors.
 */
export class Segment {
  size = 0;
  count = 0;
  firstOffset = -1;
  lastOffset = -1;
  lastPublishedAt = 0;
  private readonly indexOffsets: number[] = [];
  private readonly indexPositions: number[] = [];
  private bytesSinceIndexEntry = 0;
  private removed = false;
  private readonly file: PooledFile;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    files: OpenFiles,
    createFlags: string,
  ) {
    this.file = files.file(this.path, createFlags);
  }

  static fileName(baseOffset: number): string {
    return `${String(baseOffset).padStart(20, '0')}.log`;
  }

  /** The base offset a segment file name stands for, or undefined for other files. */
  static parseFileName(name: string): number | undefined {
    const match = FILE_NAME.exec(name);
    return match ? Number(match[1]) : undefined;
  }

  get fileName(): string {
    return Segment.fileName(this.baseOffset);
  }

  get path(): string {
    return join(this.dir, this.fileName);
  }

  /** A new, empty segment file (it must not exist yet). */
  static create(dir: string, baseOffset: number, files: OpenFiles): Segment {
    const segment = new Segment(dir, baseOffset, files, 'wx+');
    segment.file.descriptor();
    return segment;
  }

  /**
   * Opens an existing segment file: scans every record, checks lengths,
   * checksums and offset order, rebuilds the index, and cuts the file back to
   * the last whole record if its tail is torn or corrupt.
   */
  static recover(
    dir: string,
    baseOffset: number,
    files: OpenFiles,
  ): { segment: Segment; damage?: SegmentDamage } {
    const segment = new Segment(dir, baseOffset, files, 'r+');
    // The scan reads synchronously, so no other open can evict this descriptor meanwhile.
    const fd = segment.file.descriptor();
    const fileSize = fstatSync(fd).size;
    const reader = new ChunkReader(fd, fileSize, RECOVERY_CHUNK_BYTES);
    let position = 0;
    let reason: string | undefined;
    while (position < fileSize) {
      if (fileSize - position < HEADER_BYTES) {
        reason = `torn record header (${fileSize - position} of ${HEADER_BYTES} bytes)`;
        break;
      }
      let view = reader.view(position, HEADER_BYTES);
      const header = readHeader(view.buffer, view.at);
      if (header.messageBytes > MAX_RECORD_MESSAGE_BYTES) {
        reason = `corrupt record length ${header.messageBytes}`;
        break;
      }
      const recordBytes = HEADER_BYTES + header.messageBytes;
      if (position + recordBytes > fileSize) {
        reason = `torn record (${fileSize - position} of ${recordBytes} bytes)`;
        break;
      }
      view = reader.view(position, recordBytes);
      if (!checksumMatches(view.buffer, view.at, header.messageBytes)) {
        reason = 'checksum mismatch';
        break;
      }
      const previous = segment.lastOffset >= 0 ? segment.lastOffset : baseOffset - 1;
      if (header.offset <= previous) {
        reason = `offset ${header.offset} out of order after ${previous}`;
        break;
      }
      segment.track(header.offset, header.publishedAt, recordBytes);
      position += recordBytes;
    }
    if (reason === undefined) return { segment };
    ftruncateSync(fd, position);
    const damage: SegmentDamage = {
      fileName: segment.fileName,
      droppedBytes: fileSize - position,
      reason,
    };
    if (segment.lastOffset >= 0) damage.lastOffset = segment.lastOffset;
    return { segment, damage };
  }

  /**
   * Writes one encoded record at the end of the file (into the OS page cache:
   * it survives the process being killed, not a power loss until synced).
   * A failed write (disk full) is cut back so no half record stays behind.
   */
  append(bytes: Buffer, offset: number, publishedAt: number): void {
    const fd = this.file.descriptor();
    let written = 0;
    try {
      while (written < bytes.length) {
        written += writeSync(fd, bytes, written, bytes.length - written, this.size + written);
      }
    } catch (error) {
      // Should the cut fail too, the next append overwrites from the same position.
      if (written > 0) tryTruncate(fd, this.size);
      throw error;
    }
    this.track(offset, publishedAt, bytes.length);
  }

  /** Appends the records at or after `fromOffset` to `out`, within `budget`. */
  read(fromOffset: number, out: LogRecord[], budget: ReadBudget): void {
    if (this.count === 0 || fromOffset > this.lastOffset) return;
    // Synchronous from here on: the descriptor cannot be evicted under the read.
    const fd = this.file.descriptor();
    const reader = new ChunkReader(fd, this.size, READ_CHUNK_BYTES);
    let position = this.positionFor(fromOffset);
    while (position < this.size && out.length < budget.maxRecords) {
      let view = reader.view(position, HEADER_BYTES);
      const header = readHeader(view.buffer, view.at);
      const recordBytes = HEADER_BYTES + header.messageBytes;
      if (header.offset >= fromOffset) {
        const cost = header.messageBytes + RECORD_OVERHEAD_BYTES;
        // Always return at least one record, however large.
        if (budget.bytes + cost > budget.maxBytes && out.length > 0) {
          budget.full = true;
          return;
        }
        view = reader.view(position, recordBytes);
        out.push({
          offset: header.offset,
          message: decodeMessage(view.buffer, view.at, header.messageBytes),
          publishedAt: header.publishedAt,
        });
        budget.bytes += cost;
      }
      position += recordBytes;
    }
  }

  /** Bytes from the indexed record at or before `fromOffset` to the end (metrics: lag in bytes). */
  bytesFrom(fromOffset: number): number {
    if (this.count === 0 || fromOffset > this.lastOffset) return 0;
    return this.size - this.positionFor(fromOffset);
  }

  /**
   * Flushes what was appended to stable storage (thread pool; the event loop
   * goes on). The descriptor is pinned meanwhile; a file evicted from the
   * pool is opened again (fdatasync flushes the file, whichever descriptor
   * wrote it). A removed file has nothing left worth syncing.
   */
  async sync(): Promise<void> {
    let fd: number;
    try {
      fd = await this.file.pin();
    } catch (error) {
      if (this.removed) return;
      throw error;
    }
    await new Promise<void>((resolve, reject) =>
      fdatasync(fd, (error) => {
        this.file.release();
        if (error) reject(error);
        else resolve();
      }),
    );
  }

  /** Flushes to stable storage and blocks until done: at start-up and after a repair. */
  syncNow(): void {
    fdatasyncSync(this.file.descriptor());
  }

  /** Closes the descriptor (after any sync using it); the next use opens it again. */
  close(): void {
    this.file.close();
  }

  /** Removes the file; an open descriptor stays usable until closed (POSIX). */
  removeFile(): void {
    unlinkSync(this.path);
    this.removed = true;
  }

  private track(offset: number, publishedAt: number, recordBytes: number): void {
    if (this.count === 0 || this.bytesSinceIndexEntry >= INDEX_INTERVAL_BYTES) {
      this.indexOffsets.push(offset);
      this.indexPositions.push(this.size);
      this.bytesSinceIndexEntry = 0;
    }
    if (this.count === 0) this.firstOffset = offset;
    this.count++;
    this.lastOffset = offset;
    this.lastPublishedAt = publishedAt;
    this.size += recordBytes;
    this.bytesSinceIndexEntry += recordBytes;
  }

  /** File position of the last indexed record at or before `offset` (0 if none). */
  private positionFor(offset: number): number {
    let low = 0;
    let high = this.indexOffsets.length - 1;
    let found = 0;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.indexOffsets[mid] <= offset) {
        found = this.indexPositions[mid];
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }
}

/** Serves byte ranges of a file from one buffered chunk, reading more as needed. */
class ChunkReader {
  private chunk = Buffer.alloc(0);
  private chunkStart = 0;

  constructor(
    private readonly fd: number,
    private readonly fileSize: number,
    private readonly chunkBytes: number,
  ) {}

  view(position: number, length: number): { buffer: Buffer; at: number } {
    const end = position + length;
    if (position < this.chunkStart || end > this.chunkStart + this.chunk.length) {
      const loadBytes = Math.min(this.fileSize - position, Math.max(length, this.chunkBytes));
      const chunk = Buffer.allocUnsafe(loadBytes);
      let loaded = 0;
      while (loaded < loadBytes) {
        const bytes = readSync(this.fd, chunk, loaded, loadBytes - loaded, position + loaded);
        if (bytes === 0) {
          throw new StorageError(`segment file ended unexpectedly at byte ${position + loaded}`);
        }
        loaded += bytes;
      }
      this.chunk = chunk;
      this.chunkStart = position;
    }
    return { buffer: this.chunk, at: position - this.chunkStart };
  }
}

function tryTruncate(fd: number, size: number): void {
  try {
    ftruncateSync(fd, size);
  } catch {
    // Appends write at the size the segment knows, so the next one covers the rest.
  }
}
