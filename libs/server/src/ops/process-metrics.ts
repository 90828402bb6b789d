import { existsSync, readFileSync, readdirSync } from 'fs';
import { monitorEventLoopDelay } from 'perf_hooks';
import { Registry } from 'prom-client';
import { Sample, computedCounter, computedGauge } from './metrics';

/** Event-loop delay is sampled this often (prom-client's default too). */
const EVENT_LOOP_RESOLUTION_MS = 10;
/** The lag gauges of one scrape share one reading of the delay histogram. */
const SCRAPE_WINDOW_MS = 1_000;

/**
 * The process metrics of prom-client's `collectDefaultMetrics`, under the
 * same names, without its GC histogram: that one observes every garbage
 * collection through a PerformanceObserver, which made the fan-out of
 * `npm run bench` cost a sixth more CPU per message (README, Metrics).
 * Every value is read at scrape; the only thing running in between is
 * Node's event-loop delay monitor.
 */
export function registerProcessMetrics(registry: Registry): void {
  const cpu = (field: 'user' | 'system' | 'total') => () => {
    const usage = process.cpuUsage();
    const micros = field === 'total' ? usage.user + usage.system : usage[field];
    return [[{}, micros / 1e6]] as Sample[];
  };
  computedCounter({
    registry,
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    read: cpu('user'),
  });
  computedCounter({
    registry,
    name: 'process_cpu_system_seconds_total',
    help: 'Total system CPU time spent in seconds.',
    read: cpu('system'),
  });
  computedCounter({
    registry,
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    read: cpu('total'),
  });
  const startTime = Math.round(Date.now() / 1000 - process.uptime());
  computedGauge({
    registry,
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
    read: () => [[{}, startTime]],
  });
  computedGauge({
    registry,
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    read: () => [[{}, process.memoryUsage.rss()]],
  });
  const heap = (field: 'heapTotal' | 'heapUsed' | 'external') => () =>
    [[{}, process.memoryUsage()[field]]] as Sample[];
  computedGauge({
    registry,
    name: 'nodejs_heap_size_total_bytes',
    help: 'Process heap size from Node.js in bytes.',
    read: heap('heapTotal'),
  });
  computedGauge({
    registry,
    name: 'nodejs_heap_size_used_bytes',
    help: 'Process heap size used from Node.js in bytes.',
    read: heap('heapUsed'),
  });
  computedGauge({
    registry,
    name: 'nodejs_external_memory_bytes',
    help: 'Node.js external memory size in bytes.',
    read: heap('external'),
  });

  // File descriptors: Linux's /proc (the images and these machines); elsewhere absent.
  if (existsSync('/proc/self/fd')) {
    computedGauge({
      registry,
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      // The directory's own descriptor, open while it is read, is not counted.
      read: () => [[{}, readdirSync('/proc/self/fd').length - 1]],
    });
  }
  const maxFds = readMaxFds();
  if (maxFds !== undefined) {
    computedGauge({
      registry,
      name: 'process_max_fds',
      help: 'Maximum number of open file descriptors.',
      read: () => [[{}, maxFds]],
    });
  }

  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  delay.enable();
  let reading: Record<string, number> = {};
  let readAt = 0;
  /** The delay since the last scrape, in seconds; read once per scrape, then reset. */
  const lag = () => {
    if (Date.now() - readAt > SCRAPE_WINDOW_MS) {
      const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
      reading = {
        min: seconds(delay.min),
        max: seconds(delay.max),
        mean: seconds(delay.mean),
        stddev: seconds(delay.stddev),
        p50: seconds(delay.percentile(50)),
        p90: seconds(delay.percentile(90)),
        p99: seconds(delay.percentile(99)),
      };
      readAt = Date.now();
      delay.reset();
    }
    return reading;
  };
  for (const [stat, help] of [
    ['min', 'The minimum recorded event loop delay.'],
    ['max', 'The maximum recorded event loop delay.'],
    ['mean', 'The mean of the recorded event loop delays.'],
    ['stddev', 'The standard deviation of the recorded event loop delays.'],
    ['p50', 'The 50th percentile of the recorded event loop delays.'],
    ['p90', 'The 90th percentile of the recorded event loop delays.'],
    ['p99', 'The 99th percentile of the recorded event loop delays.'],
  ] as const) {
    computedGauge({
      registry,
      name: `nodejs_eventloop_lag_${stat}_seconds`,
      help: `${help} Since the previous scrape.`,
      read: () => [[{}, lag()[stat]]],
    });
  }

  const [major, minor, patch] = process.versions.node.split('.');
  computedGauge({
    registry,
    name: 'nodejs_version_info',
    help: 'Node.js version info.',
    labelNames: ['version', 'major', 'minor', 'patch'],
    read: () => [[{ version: process.version, major, minor, patch }, 1]],
  });
}

function readMaxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('Max open files'));
    const soft = Number(line?.split(/\s+/)[3]);
    return Number.isFinite(soft) ? soft : undefined;
  } catch {
    return undefined;
  }
}
