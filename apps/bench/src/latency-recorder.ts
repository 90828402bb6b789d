/**
 * Keeps every latency sample of one run and answers percentiles by sorting
 * once. Runs are bounded in count (a few hundred thousand samples at most),
 * so exact percentiles cost a few megabytes and no histogram is needed.
 */
export class LatencyRecorder {
  private samples = new Float64Array(4096);
  private count = 0;
  private sorted = true;

  get size(): number {
    return this.count;
  }

  record(milliseconds: number): void {
    if (this.count === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.count++] = milliseconds;
    this.sorted = false;
  }

  /** Nearest-rank percentile (`p` in 0-100); NaN with no samples. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    if (!this.sorted) {
      this.samples.subarray(0, this.count).sort();
      this.sorted = true;
    }
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    return this.samples[rank - 1];
  }
}
