import { readFileSync } from 'fs';
import { ConnectionOptions, PeerCertificate, checkServerIdentity } from 'tls';
import { PrincipalRole, principalFromSubjectAltName } from '@p2p-pubsub/protocol';

/** PEM files of a client with security on: the cluster CA, and its own certificate and key. */
export interface TlsFiles {
  ca: string;
  cert?: string;
  key?: string;
}

/**
 * TLS options for PeerClient/IndexerClient (`tls`) from PEM files: TLS 1.3,
 * the cluster CA as the only trust, the client certificate if given, and a
 * check that the server is the kind of process expected (`expected`) and
 * has the host name connected to among its names.
 *
 *   const peer = new PeerClient({ host: 'localhost', port: 5555,
 *     tls: tlsFromFiles({ ca: 'certs/ca.crt', cert: 'certs/client.crt', key: 'certs/client.key' }, 'peer') });
 */
export function tlsFromFiles(files: TlsFiles, expected?: PrincipalRole): ConnectionOptions {
  // tls.connect asserts on options present but undefined: leave them out.
  const options: ConnectionOptions = { ca: readFileSync(files.ca), minVersion: 'TLSv1.3' };
  if (files.cert !== undefined) options.cert = readFileSync(files.cert);
  if (files.key !== undefined) options.key = readFileSync(files.key);
  if (expected) options.checkServerIdentity = expectServer(expected);
  return options;
}

/**
 * A `checkServerIdentity` that also reads the principal the server's
 * certificate names (`pubsub://<role>/<name>`) and wants it to be a `role`,
 * and with `name`, that very one (a peer by its id, host:port, which is
 * then all that is checked). Without `name`, the host name connected to
 * must be among the certificate's names, as by default.
 */
export function expectServer(
  role: PrincipalRole,
  name?: string,
): (host: string, certificate: PeerCertificate) => Error | undefined {
  return (host, certificate) => {
    const found = principalFromSubjectAltName(certificate.subjectaltname);
    if ('error' in found) return new Error(`the server at ${host}: ${found.error}`);
    const expected = name === undefined ? `a ${role}` : `${role}/${name}`;
    if (found.role !== role || (name !== undefined && found.name !== name)) {
      return new Error(`the server at ${host} is ${found.id}, not ${expected}`);
    }
    return name === undefined ? checkServerIdentity(host, certificate) : undefined;
  };
}
