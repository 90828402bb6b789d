import { Logger } from '@nestjs/common';
import { readFileSync } from 'fs';
import type { AddressInfo, Socket } from 'net';
import {
  ConnectionOptions,
  SecureContext,
  Server as TlsServer,
  TLSSocket,
  TlsOptions,
  createSecureContext,
} from 'tls';
import {
  Principal,
  PrincipalRole,
  parsePrincipalId,
  principalFromSubjectAltName,
} from '@p2p-pubsub/protocol';
import { ConfigError } from '../config';
import { Permissions, PermissionsFileError } from './permissions';
import { SecuritySettings, securitySources } from './security.settings';
import { TlsMaterial, TlsMaterialError, loadTlsMaterial } from './tls-material';

/** Who a connection is, decided once when its TLS handshake completes. */
export interface Authentication {
  principal?: Principal;
  /** Why the connection has no principal; its every request gets UNAUTHENTICATED with it. */
  refusal?: string;
}

const MIN_TLS_VERSION = 'TLSv1.3';

/**
 * A process's security at run time: off, or its certificate and the
 * cluster CA (reloaded on SIGHUP without a restart), who connected on each
 * connection, and the permissions file (reloaded with them). Made from the
 * settings before the Nest application exists, because the TCP server's
 * TLS options are needed to construct it; SecurityModule then provides it
 * to the guards.
 */
export class Security {
  private readonly logger = new Logger('Security');
  private server?: TlsServer;
  private outgoing?: SecureContext;
  private readonly permissionsListeners = new Set<(permissions: Permissions) => void>();

  private constructor(
    readonly settings: SecuritySettings,
    private readonly role: PrincipalRole,
    private tls: TlsMaterial | undefined,
    private currentPermissions: Permissions,
  ) {
    if (tls) this.outgoing = outgoingContext(tls);
  }

  /** Reads and checks the files; a problem is a ConfigError naming the variable. */
  static load(settings: SecuritySettings, role: PrincipalRole): Security {
    if (settings.security !== 'on')
      return new Security(settings, role, undefined, Permissions.none);
    try {
      return new Security(
        settings,
        role,
        loadTlsMaterial(settings, role),
        readPermissions(settings),
      );
    } catch (error) {
      if (error instanceof TlsMaterialError)
        throw new ConfigError(`Invalid configuration:\n  ${error.message}`);
      throw error;
    }
  }

  get enabled(): boolean {
    return this.tls !== undefined;
  }

  /** Who this process is by its own certificate; undefined with security off. */
  get identity(): Principal | undefined {
    return this.tls?.principal;
  }

  get permissions(): Permissions {
    return this.currentPermissions;
  }

  /**
   * Runs `listener` after each reload that took a new permissions file: what
   * was allowed once and runs on (a live stream) is checked again there.
   * Returns its unregistration.
   */
  onPermissionsReloaded(listener: (permissions: Permissions) => void): () => void {
    this.permissionsListeners.add(listener);
    return () => this.permissionsListeners.delete(listener);
  }

  /** The client a token authenticates under the permissions file as it is now. */
  principalForToken(token: string): Principal | undefined {
    const id = this.currentPermissions.principalForToken(token);
    return id === undefined ? undefined : parsePrincipalId(id);
  }

  /**
   * Options for Nest's TCP server: TLS 1.3 only, and a client certificate
   * asked for but not demanded by the handshake itself. A certificate that
   * does not verify (expired, another CA) still completes the handshake, so
   * that each request can be answered UNAUTHENTICATED with the reason rather
   * than a reset the client cannot explain.
   */
  serverTlsOptions(): TlsOptions | undefined {
    if (!this.tls) return undefined;
    return {
      ...this.contextOptions(this.tls),
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: this.settings.connectTimeoutMs,
    };
  }

  /**
   * TLS options for a connection this process opens (a peer to the indexer
   * or to another peer), read at each connect, so reloaded certificates
   * apply to the next connection. `checkServerIdentity` says whom the far
   * end must be.
   */
  outgoingTls(
    checkServerIdentity: ConnectionOptions['checkServerIdentity'],
  ): (() => ConnectionOptions) | undefined {
    if (!this.tls) return undefined;
    return () => ({
      secureContext: this.outgoing,
      minVersion: MIN_TLS_VERSION,
      checkServerIdentity,
    });
  }

  /** Who is on the other end of a connection whose handshake just completed. */
  authenticate(socket: TLSSocket): Authentication {
    const certificate = socket.getPeerX509Certificate();
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    let authentication: Authentication;
    if (!certificate) {
      authentication = { refusal: 'the connection presented no client certificate' };
    } else if (!socket.authorized) {
      const reason = socket.authorizationError as Error | string | undefined;
      authentication = {
        refusal: `the client certificate is refused (${typeof reason === 'string' ? reason : (reason?.message ?? 'not trusted')})`,
      };
    } else {
      const found = principalFromSubjectAltName(certificate.subjectAltName);
      authentication = 'error' in found ? { refusal: found.error } : { principal: found };
    }
    if (authentication.refusal) {
      this.logger.warn(
        `connection from ${from}: ${authentication.refusal}; its requests get UNAUTHENTICATED`,
      );
    }
    return authentication;
  }

  /**
   * Takes the listening TLS server: logs every connection refused before
   * its handshake completed (plaintext, another TLS version, a handshake
   * that took too long), and reloads certificates and permissions on SIGHUP.
   */
  attach(server: TlsServer): void {
    this.server = server;
    server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) =>
      // Node leaves a socket whose handshake timed out open for the listener to decide.
      this.cut(socket, describeHandshakeError(error, this.settings.connectTimeoutMs)),
    );
    process.on('SIGHUP', () => this.reload());
    const { port } = server.address() as AddressInfo;
    this.logger.log(
      `TLS 1.3 on port ${port} as ${this.tls!.principal.id}; plaintext connections are refused; ${this.permissionsSummary()}`,
    );
  }

  /** Logs why a connection is refused, and closes it. */
  cut(socket: Socket, reason: string): void {
    this.logger.warn(
      `refused a connection from ${socket.remoteAddress}:${socket.remotePort}: ${reason}`,
    );
    socket.destroy();
  }

  /**
   * Reads the certificate files and the permissions file again. New
   * connections use what was read; open ones keep what they were
   * authenticated with. A file that fails its checks is reported and the
   * previous one stays in use, so a bad rotation cannot take a process off
   * the cluster.
   */
  reload(): void {
    try {
      const tls = loadTlsMaterial(this.settings, this.role);
      if (tls.principal.id !== this.tls!.principal.id) {
        throw new TlsMaterialError(
          `the new certificate names ${tls.principal.id}, but this process is ${this.tls!.principal.id}`,
        );
      }
      this.server?.setSecureContext(this.contextOptions(tls));
      this.outgoing = outgoingContext(tls);
      this.tls = tls;
      this.logger.log(
        `reloaded the TLS certificate (serial ${tls.certificate.serialNumber}, valid until ${tls.certificate.validTo}) and CA`,
      );
    } catch (error) {
      this.logger.error(
        `TLS files not reloaded, the previous ones stay in use: ${(error as Error).message}`,
      );
    }
    try {
      this.currentPermissions = readPermissions(this.settings);
      this.logger.log(`reloaded ${this.permissionsSummary()}`);
      for (const listener of this.permissionsListeners) listener(this.currentPermissions);
    } catch (error) {
      this.logger.error(
        `permissions not reloaded, the previous ones stay in use: ${(error as Error).message}`,
      );
    }
  }

  private contextOptions(tls: TlsMaterial) {
    return { ca: tls.ca, cert: tls.cert, key: tls.key, minVersion: MIN_TLS_VERSION } as const;
  }

  private permissionsSummary(): string {
    return this.settings.permissionsFile
      ? `permissions for ${this.currentPermissions.size} principal(s) from ${this.settings.permissionsFile}`
      : 'no PERMISSIONS_FILE: clients may do nothing';
  }
}

function outgoingContext(tls: TlsMaterial): SecureContext {
  return createSecureContext({
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    minVersion: MIN_TLS_VERSION,
  });
}

function readPermissions(settings: SecuritySettings): Permissions {
  const path = settings.permissionsFile;
  if (path === undefined) return Permissions.none;
  const { env, flags } = securitySources.permissionsFile;
  try {
    return Permissions.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason =
      error instanceof PermissionsFileError
        ? error.message
        : `cannot be read (${(error as Error).message})`;
    throw new TlsMaterialError(`${env} (--${flags[0]}) = '${path}': ${reason}`);
  }
}

function describeHandshakeError(error: Error & { code?: string }, timeoutMs: number): string {
  switch (error.code) {
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_HTTP_REQUEST':
      return 'it spoke plaintext, and security is on: connect with TLS (ncat --ssl, the client tls option, pubsub --ca/--cert/--key)';
    case 'ERR_TLS_HANDSHAKE_TIMEOUT':
      return `its TLS handshake did not finish within ${timeoutMs} ms`;
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
      return 'it offered a TLS version older than 1.3';
    default:
      return `TLS handshake failed (${error.code ?? error.message})`;
  }
}
