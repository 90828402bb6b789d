import { basename, dirname } from 'path';
import {
  LimitExceededError,
  PubSubError,
  StorageError,
  StorageFullError,
} from '@p2p-pubsub/protocol';

const FULL = new Set(['ENOSPC', 'EDQUOT']);
const OUT_OF_DESCRIPTORS = new Set(['EMFILE', 'ENFILE']);

/**
 * The storage boundary: turns what the file system threw into the error a
 * client gets. A full disk (or quota) is STORAGE_FULL and running out of file
 * descriptors LIMIT_EXCEEDED: both clear up on their own, and nothing was
 * stored. Any other failure of a system call (EIO, EROFS, ENOENT of a file
 * removed under us) is STORAGE_ERROR. Anything else (a bug) is returned
 * unchanged, for the exception filter to report as INTERNAL.
 *
 * `doing` says what failed, for the message (`appending to 'Sports'`).
 */
export function storageError(error: unknown, doing: string): unknown {
  if (error instanceof PubSubError) return error;
  const code = errnoCode(error);
  if (code === undefined) return error;
  if (FULL.has(code))
    return new StorageFullError(`Storage full (${code}) ${doing}; retry once space is freed`);
  if (OUT_OF_DESCRIPTORS.has(code)) {
    return new LimitExceededError(`Out of file descriptors (${code}) ${doing}; retry shortly`);
  }
  return new StorageError(`Storage failed (${code}) ${doing}`);
}

/**
 * A failed fdatasync: what was written may or may not survive a power loss,
 * and after a failed sync the kernel may have dropped the pages it could not
 * write, so retrying the sync proves nothing. The outcome is unknown to the
 * caller, whatever the errno (even ENOSPC, which some file systems report
 * only here): always STORAGE_ERROR.
 */
export function syncError(error: unknown, doing: string): unknown {
  if (error instanceof PubSubError) return error;
  const code = errnoCode(error);
  if (code === undefined) return error;
  return new StorageError(
    `Storage failed (${code}) syncing ${doing}: written, but not known to be on stable storage`,
  );
}

/** `<topic directory>/<file>`: names a file in a client's error without the data directory's path. */
export function fileLabel(path: string): string {
  return `${basename(dirname(path))}/${basename(path)}`;
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const syscall = (error as NodeJS.ErrnoException | undefined)?.syscall;
  return typeof code === 'string' && typeof syscall === 'string' ? code : undefined;
}

/** Runs `operation`, turning a file system failure into the client's error (see storageError). */
export function atStorage<T>(doing: string, operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    throw storageError(error, doing);
  }
}
