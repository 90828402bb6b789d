import { ArgumentsHost, createParamDecorator, ExecutionContext } from '@nestjs/common';
import { TcpContext } from '@nestjs/microservices';
import {
  ON_BEHALF_OF,
  Principal,
  TOKEN,
  UnauthenticatedError,
  parsePrincipalId,
} from '@p2p-pubsub/protocol';
import type { Authentication, Security } from './security';

/** What the server socket knows about its connection (ServerSocket sets it with security on). */
interface AuthenticatedSocket {
  authentication?: Authentication;
  /** The last token this connection authenticated with, and whom it named then. */
  tokenPrincipal?: { token: string; permissions: unknown; principal: Principal };
}

function rpcContext(host: ArgumentsHost): TcpContext {
  return host.switchToRpc().getContext<TcpContext>();
}

function socketOf(host: ArgumentsHost): AuthenticatedSocket | undefined {
  return rpcContext(host).getSocketRef() as unknown as AuthenticatedSocket | undefined;
}

function metadataField(host: ArgumentsHost, field: string): unknown {
  return (rpcContext(host).getMetadata() as Record<string, unknown> | undefined)?.[field];
}

/**
 * The principal a request comes from: the connection's certificate's or,
 * on a connection without one, the client its token (packet metadata
 * `token`, or a bare command's `token` field) names in the permissions file.
 * UNAUTHENTICATED when there is neither: no certificate, one that does not
 * verify, or an unknown token. A token is hashed once per connection and
 * again only when it or the permissions file changes.
 */
export function connectionPrincipal(host: ArgumentsHost, security: Security): Principal {
  const socket = socketOf(host);
  const authentication = socket?.authentication;
  if (authentication?.principal) return authentication.principal;
  const token = metadataField(host, TOKEN);
  if (socket && typeof token === 'string') {
    const known = socket.tokenPrincipal;
    const permissions = security.permissions;
    if (known?.token === token && known.permissions === permissions) return known.principal;
    const principal = security.principalForToken(token);
    if (!principal) throw new UnauthenticatedError('the token is not in the permissions file');
    socket.tokenPrincipal = { token, permissions, principal };
    return principal;
  }
  throw new UnauthenticatedError(authentication?.refusal ?? 'the connection has no identity');
}

/**
 * Whom a request is made for: the connection's principal, or, on a
 * connection from a peer that forwards a user's request to the topic's
 * host, the user the peer names in the packet metadata (ON_BEHALF_OF).
 */
export function callerOf(host: ArgumentsHost, security: Security): Principal {
  const principal = connectionPrincipal(host, security);
  if (principal.role !== 'peer') return principal;
  const onBehalfOf = metadataField(host, ON_BEHALF_OF);
  if (typeof onBehalfOf !== 'string') return principal;
  return parsePrincipalId(onBehalfOf) ?? principal;
}

/**
 * The request's caller as a handler parameter (`@Caller() caller?:
 * Principal`), as the handler's guard found it; undefined with security off.
 */
export const Caller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal | undefined => {
    const socket = socketOf(context);
    if (!socket?.authentication) return undefined;
    let principal = socket.authentication.principal;
    // Without a certificate, the guard has just checked the request's token.
    const token = metadataField(context, TOKEN);
    const known = socket.tokenPrincipal;
    if (!principal && known && known.token === token) principal = known.principal;
    if (principal?.role !== 'peer') return principal;
    const onBehalfOf = metadataField(context, ON_BEHALF_OF);
    return (typeof onBehalfOf === 'string' && parsePrincipalId(onBehalfOf)) || principal;
  },
);
