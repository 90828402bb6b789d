import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ReadyReport, writeReadyFile } from '@p2p-pubsub/launcher';

/** What startService tells the readiness once the listener is bound. */
export interface ListeningFacts {
  role: string;
  host: string;
  port: number;
  /** The ops HTTP port as bound; undefined when it is off. */
  opsPort?: number;
  /** Where to write the report; nowhere when undefined. */
  readyFile?: string;
  /** Boolean facts that must all be true, besides listening, for `ready` (a peer: `registered`). */
  readyWhen?: Array<keyof ReadyReport>;
}

/**
 * Whether this process is ready for work, in the machine-readable form a
 * launcher waits for (the ready file) rather than a log line. startService
 * reports the listener; the app reports the rest through `update` (a peer's
 * indexer link reports its registration), and the file is rewritten
 * whenever the report changes.
 */
@Injectable()
export class ServiceReadiness implements OnModuleDestroy {
  private facts: Partial<ReadyReport> = {};
  private readyWhen: Array<keyof ReadyReport> = [];
  private readyFile?: string;
  private written = '';

  /** The report as it stands; undefined until the listener is bound. */
  get report(): ReadyReport | undefined {
    const { role, host, port, listening } = this.facts;
    if (role === undefined || host === undefined || port === undefined) return undefined;
    const ready = listening === true && this.readyWhen.every((fact) => this.facts[fact] === true);
    return {
      role,
      pid: process.pid,
      host,
      port,
      listening: listening === true,
      ...this.facts,
      ready,
    };
  }

  listening({ readyFile, readyWhen = [], ...facts }: ListeningFacts): void {
    this.readyFile = readyFile;
    this.readyWhen = readyWhen;
    // A fact not reported yet is false, and the report says so.
    const unreported = readyWhen.filter((fact) => this.facts[fact] === undefined);
    this.update({
      ...Object.fromEntries(unreported.map((fact) => [fact, false])),
      ...facts,
      listening: true,
    });
  }

  /** Adds or changes facts (`registered`, `peerId`, `opsPort`) and rewrites the file if that changed it. */
  update(facts: Partial<ReadyReport>): void {
    this.facts = { ...this.facts, ...facts };
    const report = this.report;
    if (!report || !this.readyFile) return;
    const text = JSON.stringify(report);
    if (text === this.written) return;
    writeReadyFile(this.readyFile, report);
    this.written = text;
  }

  /** Shutdown starts by closing the listener: from then on the process is not ready. */
  onModuleDestroy(): void {
    this.update({ listening: false });
  }
}
