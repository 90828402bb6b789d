import {
  CanActivate,
  DynamicModule,
  ExecutionContext,
  Injectable,
  SetMetadata,
  Type,
  UseGuards,
  applyDecorators,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TcpContext } from '@nestjs/microservices';
import { ForbiddenError, isClusterMember } from '@p2p-pubsub/protocol';
import { callerOf, connectionPrincipal } from './caller';
import { TopicAction } from './permissions';
import { Security } from './security';

const USER_ACCESS = 'p2p-pubsub:user-access';
const ACTING_AS = 'p2p-pubsub:acting-as';

/** A topic action of the permissions file, or `read`: any principal with an entry. */
export type UserAccess = TopicAction | 'read';

/** Says which peer a cluster request claims to come from, read from its payload. */
export type ActingAs = (payload: Record<string, unknown>) => string | undefined;

/**
 * A user pattern: with security on, allowed to a caller whose permissions
 * grant `access` on the payload's `topic` (`read`: to any caller with an
 * entry, and to the cluster's members).
 */
export const UserAccess = (access: UserAccess) =>
  applyDecorators(SetMetadata(USER_ACCESS, access), UseGuards(UserGuard));

/**
 * A cluster pattern: with security on, allowed only on a connection
 * authenticated as a peer and, with `actingAs`, only when the peer the
 * payload names is the caller itself.
 */
export const ClusterMember = (actingAs?: ActingAs) =>
  applyDecorators(SetMetadata(ACTING_AS, actingAs ?? null), UseGuards(ClusterMemberGuard));

/** `peerId` of the payload. */
export const peerIdField: ActingAs = (payload) =>
  typeof payload.peerId === 'string' ? payload.peerId : undefined;

/** `host` and `port` of the payload, as a peer id. */
export const hostAndPortFields: ActingAs = (payload) =>
  typeof payload.host === 'string' && typeof payload.port === 'number'
    ? `${payload.host}:${payload.port}`
    : undefined;

function patternOf(context: ExecutionContext): string {
  return context.switchToRpc().getContext<TcpContext>().getPattern();
}

function payloadOf(context: ExecutionContext): Record<string, unknown> {
  const data: unknown = context.switchToRpc().getData();
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
}

@Injectable()
export class UserGuard implements CanActivate {
  constructor(
    private readonly security: Security,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.security.enabled) return true;
    const access = this.reflector.get<UserAccess>(USER_ACCESS, context.getHandler());
    const caller = callerOf(context, this.security);
    const permissions = this.security.permissions;
    if (access === 'read') {
      if (isClusterMember(caller) || permissions.hasEntry(caller.id)) return true;
      throw new ForbiddenError(`${caller.id} has no entry in the permissions file`);
    }
    const { topic } = payloadOf(context);
    // A payload without a topic string never reaches the handler: validation refuses it.
    if (typeof topic !== 'string') return true;
    if (permissions.allows(caller.id, access, topic)) return true;
    throw new ForbiddenError(`${caller.id} may not ${access} on topic '${topic}'`);
  }
}

@Injectable()
export class ClusterMemberGuard implements CanActivate {
  constructor(
    private readonly security: Security,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.security.enabled) return true;
    const principal = connectionPrincipal(context, this.security);
    if (principal.role !== 'peer') {
      throw new ForbiddenError(
        `only the cluster's peers may call '${patternOf(context)}'; this connection is ${principal.id}`,
      );
    }
    const actingAs = this.reflector.get<ActingAs | null>(ACTING_AS, context.getHandler());
    if (actingAs) {
      const claimed = actingAs(payloadOf(context));
      if (claimed !== principal.name) {
        throw new ForbiddenError(
          `${principal.id} may not call '${patternOf(context)}' as peer ${claimed ?? '(none named)'}`,
        );
      }
    }
    return true;
  }
}

/**
 * The message patterns of the controllers under `module` (following its
 * imports) whose handler says nothing about who may call it: with security
 * on, each such pattern would be open to anyone. Each app's spec wants none.
 */
export function patternsWithoutAccessRule(module: DynamicModule | Type): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const visit = (entry: DynamicModule | Type | undefined) => {
    if (!entry || seen.has(entry)) return;
    seen.add(entry);
    const dynamic = 'module' in entry ? entry : undefined;
    const type = dynamic ? dynamic.module : (entry as Type);
    const controllers: Type[] = [
      ...(Reflect.getMetadata('controllers', type) ?? []),
      ...(dynamic?.controllers ?? []),
    ];
    for (const controller of controllers) {
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler: unknown = controller.prototype[name];
        if (typeof handler !== 'function') continue;
        const patterns: unknown[] | undefined = Reflect.getMetadata(PATTERN_METADATA, handler);
        if (!patterns) continue;
        const ruled =
          Reflect.getMetadata(USER_ACCESS, handler) !== undefined ||
          Reflect.getMetadata(ACTING_AS, handler) !== undefined;
        if (!ruled)
          found.push(...patterns.map((pattern) => `${controller.name}: ${String(pattern)}`));
      }
    }
    const imports = [...(Reflect.getMetadata('imports', type) ?? []), ...(dynamic?.imports ?? [])];
    for (const imported of imports) visit(imported as DynamicModule | Type);
  };
  visit(module);
  return found;
}

/** Where @MessagePattern keeps a handler's patterns (Nest's PATTERN_METADATA). */
const PATTERN_METADATA = 'microservices:pattern';
