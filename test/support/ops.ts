import { execFileSync } from 'child_process';
import { request } from 'http';

export interface HttpReply {
  status: number;
  contentType: string;
  body: string;
}

/** GET on a service's ops port (loopback), one connection per call. */
export function httpGet(port: number, path: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, timeout: 5_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

export async function scrape(port: number): Promise<string> {
  const reply = await httpGet(port, '/metrics');
  if (reply.status !== 200) throw new Error(`/metrics answered ${reply.status}`);
  return reply.body;
}

/**
 * The value of one series in Prometheus text: `name` with exactly these
 * labels (in any order); undefined when there is no such series.
 */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      found[pair[1]] = pair[2];
    const wanted = Object.entries(labels);
    if (wanted.length !== Object.keys(found).length) continue;
    if (wanted.every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/**
 * Runs `promtool check metrics` (Debian's prometheus package; CI installs
 * it) on a scrape; returns what it printed, empty when the text passes.
 */
export function promtoolCheckMetrics(text: string): string {
  try {
    execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: 'pipe' });
    return '';
  } catch (error) {
    const failure = error as { code?: string; stdout?: Buffer; stderr?: Buffer };
    if (failure.code === 'ENOENT')
      throw new Error('promtool is not installed: apt-get install prometheus (see .ci/run)');
    return `${failure.stdout ?? ''}${failure.stderr ?? ''}`;
  }
}
