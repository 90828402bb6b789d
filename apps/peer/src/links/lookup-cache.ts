import { LookupResult } from '@p2p-pubsub/protocol';

/**
 * Where topics are hosted, as last heard from the indexer. Entries live until
 * a call through them fails; then the caller forgets the entry and asks again.
 */
export class LookupCache {
  private readonly hosts = new Map<string, LookupResult>();

  get(topic: string): LookupResult | undefined {
    return this.hosts.get(topic);
  }

  set(result: LookupResult): void {
    this.hosts.set(result.topic, result);
  }

  forget(topic: string): void {
    this.hosts.delete(topic);
  }
}
