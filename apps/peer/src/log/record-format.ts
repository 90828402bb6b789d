import { crc32 } from 'zlib';

/**
 * How one record sits in a segment file (all integers little-endian):
 *
 *   crc32 u32 | messageBytes u32 | offset u64 | publishedAt u64 | message (UTF-8)
 *
 * The CRC covers everything after itself, length included, so a torn write
 * (a crash mid-record) and a flipped bit are both caught on recovery.
 */
export const HEADER_BYTES = 24;

/** Above any message the peer accepts: a larger length field is corruption. */
export const MAX_RECORD_MESSAGE_BYTES = 64 * 1024 * 1024;

const TWO_POW_32 = 2 ** 32;

export interface RecordHeader {
  messageBytes: number;
  offset: number;
  publishedAt: number;
}

/**
 * Encodes a record into `scratch` when it fits (the hot path reuses one
 * buffer per log, since the write is synchronous), else into a new buffer.
 * Returns the bytes to write.
 */
export function encodeRecord(
  scratch: Buffer,
  offset: number,
  publishedAt: number,
  message: string,
): Buffer {
  // UTF-8 never needs more than 3 bytes per UTF-16 code unit.
  const buffer =
    HEADER_BYTES + message.length * 3 <= scratch.length
      ? scratch
      : Buffer.allocUnsafe(HEADER_BYTES + Buffer.byteLength(message, 'utf8'));
  const messageBytes = buffer.write(message, HEADER_BYTES, 'utf8');
  buffer.writeUInt32LE(messageBytes, 4);
  writeUint64(buffer, offset, 8);
  writeUint64(buffer, publishedAt, 16);
  const end = HEADER_BYTES + messageBytes;
  buffer.writeUInt32LE(crc32(buffer.subarray(4, end)), 0);
  return buffer.subarray(0, end);
}

/** Reads the header at `position`; `buffer` must hold HEADER_BYTES from there. */
export function readHeader(buffer: Buffer, position: number): RecordHeader {
  return {
    messageBytes: buffer.readUInt32LE(position + 4),
    offset: readUint64(buffer, position + 8),
    publishedAt: readUint64(buffer, position + 16),
  };
}

/** Whether the whole record at `position` (header and message) matches its CRC. */
export function checksumMatches(buffer: Buffer, position: number, messageBytes: number): boolean {
  const stored = buffer.readUInt32LE(position);
  return crc32(buffer.subarray(position + 4, position + HEADER_BYTES + messageBytes)) === stored;
}

export function decodeMessage(buffer: Buffer, position: number, messageBytes: number): string {
  const start = position + HEADER_BYTES;
  return buffer.toString('utf8', start, start + messageBytes);
}

/** Offsets and timestamps stay below 2^53, so two 32-bit halves carry them exactly. */
function writeUint64(buffer: Buffer, value: number, position: number): void {
  buffer.writeUInt32LE(value % TWO_POW_32, position);
  buffer.writeUInt32LE(Math.floor(value / TWO_POW_32), position + 4);
}

function readUint64(buffer: Buffer, position: number): number {
  return buffer.readUInt32LE(position) + buffer.readUInt32LE(position + 4) * TWO_POW_32;
}
