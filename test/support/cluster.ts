import { IndexerClient, PeerClient } from '@p2p-pubsub/client';
import { DataDirs } from './data-dirs';
import { ServiceProcess, indexerProcess, peerProcess, startRegisteredPeer } from './processes';

export interface Cluster {
  indexer: ServiceProcess;
  peers: ServiceProcess[];
  indexerClient: IndexerClient;
  /** One client per peer, same order as `peers`. */
  clients: PeerClient[];
  stop(): Promise<void>;
}

/** An indexer and `peerCount` peers as real processes on free loopback ports. */
export async function startCluster(
  peerCount: number,
  options: {
    peerArgs?: string[];
    indexerArgs?: string[];
    /** Gives each peer a data directory that outlives it (a peer killed with -9 cannot remove its own). */
    dataDirs?: DataDirs;
  } = {},
): Promise<Cluster> {
  const indexer = await indexerProcess(options.indexerArgs).start();
  const peers = await Promise.all(
    Array.from({ length: peerCount }, (_, i) => {
      const name = `peer${i + 1}`;
      const dataDir = options.dataDirs ? ['--data-dir', options.dataDirs.make(name)] : [];
      return startRegisteredPeer(
        peerProcess(name, indexer.port, [...dataDir, ...(options.peerArgs ?? [])]),
      );
    }),
  );
  const indexerClient = new IndexerClient({ host: '127.0.0.1', port: indexer.port });
  const clients = peers.map((peer) => new PeerClient({ host: '127.0.0.1', port: peer.port }));
  return {
    indexer,
    peers,
    indexerClient,
    clients,
    async stop() {
      await Promise.all([...clients, indexerClient].map((client) => client.close()));
      await Promise.all(peers.map((peer) => peer.stop()));
      await indexer.stop();
    },
  };
}
