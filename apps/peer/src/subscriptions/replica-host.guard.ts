import {
  CanActivate,
  ExecutionContext,
  Injectable,
  UseGuards,
  applyDecorators,
} from '@nestjs/common';
import { ForbiddenError } from '@p2p-pubsub/protocol';
import { ClusterMember, Security, connectionPrincipal } from '@p2p-pubsub/server';
import { LogStore } from '../log/log-store';

/**
 * With security on, what a host pushes to its subscribers (`peer.deliver`,
 * `peer.topic_deleted`) is taken only from the peer this replica was
 * subscribed at: another peer, even one of the cluster, can neither inject
 * records into a replica nor erase it. A topic this peer holds no replica
 * of is left to the handler, which changes nothing for it.
 */
@Injectable()
export class ReplicaHostGuard implements CanActivate {
  constructor(
    private readonly security: Security,
    private readonly store: LogStore,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.security.enabled) return true;
    const caller = connectionPrincipal(context, this.security);
    const { topic } = (context.switchToRpc().getData() ?? {}) as { topic?: unknown };
    // A payload without a topic string never reaches the handler: validation refuses it.
    if (typeof topic !== 'string') return true;
    const stored = this.store.get(topic);
    if (stored?.role !== 'replica' || stored.host?.peerId === caller.name) return true;
    throw new ForbiddenError(
      `${caller.id} is not the host of topic '${topic}' for this peer (${stored.host?.peerId ?? 'unknown'} is)`,
    );
  }
}

/** A pattern only the host of this peer's replica of the payload's topic may call. */
export const FromReplicaHost = () => applyDecorators(ClusterMember(), UseGuards(ReplicaHostGuard));
