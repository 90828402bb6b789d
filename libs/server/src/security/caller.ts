import { ArgumentsHost, createParamDecorator, ExecutionContext } from '@nestjs/common';
import { TcpContext } from '@nestjs/microservices';
import {
  ON_BEHALF_OF,
  Principal,
  UnauthenticatedError,
  parsePrincipalId,
} from '@p2p-pubsub/protocol';
import type { Authentication } from './security';

/** What the server socket knows about its connection (ServerSocket sets it with security on). */
interface AuthenticatedSocket {
  authentication?: Authentication;
}

function rpcContext(host: ArgumentsHost): TcpContext {
  return host.switchToRpc().getContext<TcpContext>();
}

/**
 * The principal the connection authenticated as; UNAUTHENTICATED when it has
 * none (no certificate, one that does not verify or names nobody).
 */
export function connectionPrincipal(host: ArgumentsHost): Principal {
  const socket = rpcContext(host).getSocketRef() as unknown as AuthenticatedSocket;
  const authentication = socket?.authentication;
  if (!authentication?.principal) {
    throw new UnauthenticatedError(authentication?.refusal ?? 'the connection has no identity');
  }
  return authentication.principal;
}

/**
 * Whom a request is made for: the connection's principal, or, on a
 * connection from a peer that forwards a user's request to the topic's
 * host, the user the peer names in the packet metadata (ON_BEHALF_OF).
 */
export function callerOf(host: ArgumentsHost): Principal {
  const principal = connectionPrincipal(host);
  if (principal.role !== 'peer') return principal;
  const onBehalfOf = (rpcContext(host).getMetadata() as Record<string, unknown> | undefined)?.[
    ON_BEHALF_OF
  ];
  if (typeof onBehalfOf !== 'string') return principal;
  return parsePrincipalId(onBehalfOf) ?? principal;
}

/**
 * The request's caller as a handler parameter (`@Caller() caller?:
 * Principal`); undefined with security off.
 */
export const Caller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal | undefined => {
    const socket = rpcContext(context).getSocketRef() as unknown as AuthenticatedSocket;
    return socket?.authentication ? callerOf(context) : undefined;
  },
);
