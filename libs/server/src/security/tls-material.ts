import { X509Certificate, createPrivateKey } from 'crypto';
import { readFileSync } from 'fs';
import { Principal, PrincipalRole, principalFromSubjectAltName } from '@p2p-pubsub/protocol';
import { SettingSource } from '../config';
import { SecuritySettings, securitySources } from './security.settings';

/** This process's certificate, key and trusted CAs, read and checked. */
export interface TlsMaterial {
  ca: string;
  cert: string;
  key: string;
  certificate: X509Certificate;
  /** Who the certificate says this process is. */
  principal: Principal;
}

/** A problem with one of the files, worded like a configuration error. */
export class TlsMaterialError extends Error {}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function describe(source: SettingSource, path: string): string {
  return `${source.env} (--${source.flags[0]}) = '${path}'`;
}

function read(source: SettingSource, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new TlsMaterialError(
      `${describe(source, path)}: cannot be read (${(error as Error).message})`,
    );
  }
}

function certificates(source: SettingSource, path: string, text: string): X509Certificate[] {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new TlsMaterialError(`${describe(source, path)}: holds no PEM certificate`);
  }
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TlsMaterialError(
        `${describe(source, path)}: a certificate cannot be parsed (${(error as Error).message})`,
      );
    }
  });
}

/**
 * Reads TLS_CA, TLS_CERT and TLS_KEY and checks what a TLS handshake would
 * only find out later, with a message naming the variable: that the files
 * are PEM, that the key belongs to the certificate, that the certificate is
 * issued by one of the CAs and valid now, and that it names a principal of
 * `role` (the indexer's certificate must name an indexer, a peer's a peer).
 */
export function loadTlsMaterial(
  settings: SecuritySettings,
  role: PrincipalRole,
  now = new Date(),
): TlsMaterial {
  const caPath = settings.tlsCa!;
  const certPath = settings.tlsCert!;
  const keyPath = settings.tlsKey!;
  const ca = read(securitySources.tlsCa, caPath);
  const cert = read(securitySources.tlsCert, certPath);
  const key = read(securitySources.tlsKey, keyPath);

  const authorities = certificates(securitySources.tlsCa, caPath, ca);
  const notCa = authorities.find((authority) => !authority.ca);
  if (notCa) {
    throw new TlsMaterialError(
      `${describe(securitySources.tlsCa, caPath)}: '${notCa.subject.replace(/\n/g, ', ')}' is not a CA certificate`,
    );
  }
  const [certificate] = certificates(securitySources.tlsCert, certPath, cert);
  const where = describe(securitySources.tlsCert, certPath);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TlsMaterialError(
      `${describe(securitySources.tlsKey, keyPath)}: not a PEM private key (${(error as Error).message})`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsMaterialError(
      `${describe(securitySources.tlsKey, keyPath)}: is not the key of the certificate in TLS_CERT`,
    );
  }
  const issuer = authorities.find(
    (authority) => certificate.checkIssued(authority) && certificate.verify(authority.publicKey),
  );
  if (!issuer) {
    throw new TlsMaterialError(`${where}: is not issued by a CA in TLS_CA`);
  }
  if (new Date(certificate.validTo) < now) {
    throw new TlsMaterialError(`${where}: expired on ${certificate.validTo}`);
  }
  if (new Date(certificate.validFrom) > now) {
    throw new TlsMaterialError(`${where}: not valid before ${certificate.validFrom}`);
  }
  const principal = principalFromSubjectAltName(certificate.subjectAltName);
  if ('error' in principal) throw new TlsMaterialError(`${where}: ${principal.error}`);
  if (principal.role !== role) {
    throw new TlsMaterialError(
      `${where}: names ${principal.id}, but this process is a${role === 'indexer' ? 'n' : ''} ${role}`,
    );
  }
  return { ca, cert, key, certificate, principal };
}
