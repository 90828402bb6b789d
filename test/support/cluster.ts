import { IndexerClient, PeerClient } from '@p2p-pubsub/client';
import { indexerClient, peerClient } from './clients';
import { DataDirs } from './data-dirs';
import { ServiceProcess, indexerProcess, peerProcess } from './processes';

export interface Cluster {
  indexer: ServiceProcess;
  peers: ServiceProcess[];
  indexerClient: IndexerClient;
  /** One client per peer, same order as `peers`. */
  clients: PeerClient[];
  /** Closes the clients, stops the peers (they unregister), then the indexer. */
  stop(): Promise<void>;
}

/**
 * An indexer and `peerCount` registered peers as real processes on free
 * loopback ports. If any of them fails to start, the ones already started
 * are stopped before the error is thrown: a failed beforeAll leaves nothing
 * behind for an afterAll that never got a cluster to stop.
 */
export async function startCluster(
  peerCount: number,
  options: {
    peerArgs?: string[];
    indexerArgs?: string[];
    /** Gives each peer a data directory that outlives it (a peer killed with -9 cannot remove its own). */
    dataDirs?: DataDirs;
  } = {},
): Promise<Cluster> {
  const indexer = indexerProcess(options.indexerArgs);
  let peers: ServiceProcess[] = [];
  const stopProcesses = async () => {
    await Promise.all(peers.map((peer) => peer.stop()));
    await indexer.stop();
  };
  try {
    await indexer.start();
    peers = Array.from({ length: peerCount }, (_, i) => {
      const name = `peer${i + 1}`;
      const dataDir = options.dataDirs ? ['--data-dir', options.dataDirs.make(name)] : [];
      return peerProcess(name, indexer.port, [...dataDir, ...(options.peerArgs ?? [])]);
    });
    const starts = peers.map((peer) => peer.start());
    // Promise.all rejects at the first failure while the other starts go on:
    // stop them all, then let every start settle.
    await Promise.all(starts).catch(async (error: unknown) => {
      await stopProcesses();
      await Promise.allSettled(starts);
      throw error;
    });
  } catch (error) {
    await stopProcesses();
    throw error;
  }
  const clients = peers.map((peer) => peerClient(peer.port));
  const indexerConnection = indexerClient(indexer.port);
  return {
    indexer,
    peers,
    indexerClient: indexerConnection,
    clients,
    async stop() {
      await Promise.all([...clients, indexerConnection].map((client) => client.close()));
      await stopProcesses();
    },
  };
}
