/**
 * Who is on the other end of a connection, as its certificate names it.
 *
 * With security on, every certificate the cluster CA issues carries exactly
 * one URI subject alternative name `pubsub://<role>/<name>`:
 *
 *   pubsub://indexer/<name>          the indexer (any name: `indexer`)
 *   pubsub://peer/<host>:<port>      a peer; host:port is its peer id, the
 *                                    address other peers reach it at
 *   pubsub://client/<name>           a user of the system (an application,
 *                                    the CLI, ncat); what it may do is in
 *                                    the permissions file
 *
 * The indexer and the peers are the cluster's members; clients are not. A
 * peer's id is read from its certificate and never taken from a payload.
 * The principal's string form, `<role>/<name>` (`client/alice`,
 * `peer/peer1:5555`), is what the permissions file and the logs use.
 */
export const PrincipalRoles = ['indexer', 'peer', 'client'] as const;
export type PrincipalRole = (typeof PrincipalRoles)[number];

export interface Principal {
  role: PrincipalRole;
  /** A client's or the indexer's name; a peer's `host:port`. */
  name: string;
  /** `<role>/<name>`: how permissions and logs name it. */
  id: string;
}

export const PRINCIPAL_URI_SCHEME = 'pubsub:';

/** Principal names: the characters of host names, ports and topic names, nothing to escape in a URI. */
const NAME = /^[A-Za-z0-9._:-]{1,255}$/;
/** A peer's name is its id, host:port. */
const PEER_NAME = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):(\d{1,5})$/;

export function principal(role: PrincipalRole, name: string): Principal {
  return { role, name, id: `${role}/${name}` };
}

/** The URI SAN naming `role`/`name`, as `pubsub certs` writes it. */
export function principalUri(role: PrincipalRole, name: string): string {
  return `pubsub://${role}/${name}`;
}

/** A peer id `host:port` taken apart; undefined when it is not one. */
export function parsePeerId(peerId: string): { host: string; port: number } | undefined {
  const match = PEER_NAME.exec(peerId);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { host: match[1], port } : undefined;
}

/** The principal a `pubsub://<role>/<name>` URI names, or why it names none. */
export function parsePrincipalUri(uri: string): Principal | { error: string } {
  const match = /^pubsub:\/\/([a-z]+)\/(.+)$/.exec(uri);
  if (!match) return { error: `'${uri}' is not of the form pubsub://<role>/<name>` };
  const [, role, name] = match;
  if (!(PrincipalRoles as readonly string[]).includes(role)) {
    return { error: `'${uri}' names the role '${role}'; roles are ${PrincipalRoles.join(', ')}` };
  }
  if (!NAME.test(name)) return { error: `'${uri}' has a name with characters not allowed` };
  if (role === 'peer' && !parsePeerId(name)) {
    return { error: `'${uri}' names a peer, whose name must be its host:port` };
  }
  return principal(role as PrincipalRole, name);
}

/**
 * The principal named by a certificate's subjectAltName text (as Node's
 * X509Certificate.subjectAltName and getPeerCertificate().subjectaltname
 * give it: `DNS:a, URI:pubsub://peer/a:1, IP Address:127.0.0.1`).
 */
export function principalFromSubjectAltName(
  subjectAltName: string | undefined,
): Principal | { error: string } {
  const uris = (subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith(`URI:${PRINCIPAL_URI_SCHEME}`))
    .map((entry) => entry.slice('URI:'.length));
  if (uris.length === 0) return { error: 'the certificate names no pubsub:// principal' };
  if (uris.length > 1) return { error: 'the certificate names more than one pubsub:// principal' };
  return parsePrincipalUri(uris[0]);
}

export function isClusterMember(caller: Principal | undefined): boolean {
  return caller?.role === 'peer' || caller?.role === 'indexer';
}

/** A principal from its string form `<role>/<name>`; undefined when it is not one. */
export function parsePrincipalId(id: string): Principal | undefined {
  const slash = id.indexOf('/');
  if (slash === -1) return undefined;
  const found = parsePrincipalUri(`pubsub://${id}`);
  return 'error' in found ? undefined : found;
}

/**
 * The packet metadata field in which a peer that forwards a user's request
 * to the topic's host names that user (`client/alice`), so the host can
 * check the user's permissions and remember a topic's creator. It is only
 * believed on a connection authenticated as a peer.
 */
export const ON_BEHALF_OF = 'onBehalfOf';

/**
 * Where a client without a certificate puts its token: a packet metadata
 * field on Nest's wire, a field of each command on the bare JSON wire. The
 * permissions file names the client each token's SHA-256 belongs to.
 */
export const TOKEN = 'token';
