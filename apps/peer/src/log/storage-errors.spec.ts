// Guards the storage boundary: what the file system throws reaches a client
// as a stable code (never INTERNAL), and a failed sync never claims "not stored".
import { ErrorCodes, PubSubError } from '@p2p-pubsub/protocol';
import { storageError, syncError } from './storage-errors';

const errno = (code: string, syscall = 'write') =>
  Object.assign(new Error(`${code}: failed, ${syscall}`), { code, syscall, errno: -1 });

describe('storageError', () => {
  it.each([
    ['ENOSPC', ErrorCodes.StorageFull],
    ['EDQUOT', ErrorCodes.StorageFull],
    ['EMFILE', ErrorCodes.LimitExceeded],
    ['ENFILE', ErrorCodes.LimitExceeded],
    ['EIO', ErrorCodes.StorageError],
    ['EROFS', ErrorCodes.StorageError],
    ['ENOENT', ErrorCodes.StorageError],
  ])('maps %s to %s', (code, expected) => {
    const mapped = storageError(errno(code), "appending to 'Sports'");
    expect(mapped).toBeInstanceOf(PubSubError);
    expect((mapped as PubSubError).code).toBe(expected);
    expect((mapped as PubSubError).message).toContain(code);
  });

  it('leaves domain errors and bugs as they are', () => {
    const domain = new PubSubError(ErrorCodes.TopicNotFound, 'x');
    const bug = new TypeError('undefined is not a function');
    expect(storageError(domain, 'x')).toBe(domain);
    expect(storageError(bug, 'x')).toBe(bug);
  });

  it('says STORAGE_ERROR for any failed sync, ENOSPC included: the outcome is unknown', () => {
    const mapped = syncError(errno('ENOSPC', 'fdatasync'), "the log of 'Sports'") as PubSubError;
    expect(mapped.code).toBe(ErrorCodes.StorageError);
    expect(mapped.message).toMatch(/not known to be on stable storage/);
  });
});
