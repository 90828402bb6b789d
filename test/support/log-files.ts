import { existsSync, readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import { OpenFiles } from '../../apps/peer/src/log/open-files';
import { SegmentLog } from '../../apps/peer/src/log/segment-log';
import { LogRecord } from '../../apps/peer/src/log/topic-log';

export interface TopicDirectory {
  path: string;
  role: string;
  epoch: number;
  incarnation: string;
}

/**
 * The directories of `topic` a peer keeps under `<dataDir>/<kind>` (`topics`
 * for what it serves, `retired` for hosted logs it stopped serving), read
 * from their meta journals as the peer would.
 */
export function topicDirectories(
  dataDir: string,
  kind: 'topics' | 'retired',
  topic: string,
): TopicDirectory[] {
  const root = join(dataDir, kind);
  if (!existsSync(root)) return [];
  const found: TopicDirectory[] = [];
  for (const name of readdirSync(root)) {
    const metaPath = join(root, name, 'meta.journal');
    if (!existsSync(metaPath)) continue;
    let meta: { topic: string; role: string; epoch: number; incarnation: string } | undefined;
    for (const line of readFileSync(metaPath, 'utf8').split('\n')) {
      if (!line) continue;
      const [key, value] = JSON.parse(line) as [string, typeof meta];
      if (key === 'topic') meta = value;
    }
    if (meta?.topic === topic) found.push({ path: join(root, name), ...meta });
  }
  return found;
}

/** Every record of the log in `dir`, read from its segment files. */
export async function readLogFiles(dir: string): Promise<LogRecord[]> {
  const log = SegmentLog.open({
    dir,
    name: dir,
    segmentBytes: 16 * 1024 * 1024,
    retention: {
      maxMessages: Number.MAX_SAFE_INTEGER,
      maxBytes: Number.MAX_SAFE_INTEGER,
      maxAgeMs: Number.MAX_SAFE_INTEGER,
    },
    reporter: { warn: () => undefined },
    files: new OpenFiles(64),
  });
  try {
    const records: LogRecord[] = [];
    for (let offset = log.firstOffset; offset < log.nextOffset;) {
      const batch = log.read(offset, 10_000, 64 * 1024 * 1024);
      if (batch.length === 0) break;
      records.push(...batch);
      offset = batch[batch.length - 1].offset + 1;
    }
    return records;
  } finally {
    await log.close();
  }
}
