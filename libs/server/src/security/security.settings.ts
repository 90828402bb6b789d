import { IsIn, IsInt, IsNotEmpty, IsString, Max, Min, ValidateIf } from 'class-validator';
import { SettingSource } from '../config';
import { OpsSettings } from '../ops/ops.settings';

export const SecurityModes = ['off', 'on'] as const;
export type SecurityMode = (typeof SecurityModes)[number];

const requiredWhenOn = { message: '$property is required when SECURITY=on' };
const whenOn = (settings: SecuritySettings) => settings.security === 'on';

/**
 * The security settings the indexer and every peer share: one switch for
 * the whole cluster, and each process's own files. They join the ops
 * settings every service has; both apps' config classes extend this one and
 * spread `securitySources` into their sources beside `opsSettingSources`.
 */
export class SecuritySettings extends OpsSettings {
  /** `on`: TLS 1.3 with certificates on every connection, and the permissions file. */
  @IsIn(SecurityModes)
  security: SecurityMode = 'off';

  /** The cluster CA's certificate(s), PEM: whom this process trusts. */
  @ValidateIf(whenOn)
  @IsString(requiredWhenOn)
  @IsNotEmpty(requiredWhenOn)
  tlsCa?: string;

  /** This process's certificate, PEM, issued by the cluster CA; it names the process. */
  @ValidateIf(whenOn)
  @IsString(requiredWhenOn)
  @IsNotEmpty(requiredWhenOn)
  tlsCert?: string;

  /** The certificate's private key, PEM. */
  @ValidateIf(whenOn)
  @IsString(requiredWhenOn)
  @IsNotEmpty(requiredWhenOn)
  tlsKey?: string;

  /** Who may do what (see Permissions); without it, with security on, clients may do nothing. */
  @ValidateIf((settings: SecuritySettings) => settings.permissionsFile !== undefined)
  @IsString()
  @IsNotEmpty()
  permissionsFile?: string;

  /** With security on, a connection finishes its TLS handshake, then sends its first request, each within this. */
  @IsInt()
  @Min(100)
  @Max(600_000)
  connectTimeoutMs: number = 10_000;
}

export const securitySources: Record<
  Exclude<keyof SecuritySettings, keyof OpsSettings>,
  SettingSource
> = {
  security: { env: 'SECURITY', flags: ['security'] },
  tlsCa: { env: 'TLS_CA', flags: ['tls-ca'] },
  tlsCert: { env: 'TLS_CERT', flags: ['tls-cert'] },
  tlsKey: { env: 'TLS_KEY', flags: ['tls-key'] },
  permissionsFile: { env: 'PERMISSIONS_FILE', flags: ['permissions-file'] },
  connectTimeoutMs: { env: 'CONNECT_TIMEOUT_MS', flags: ['connect-timeout-ms'] },
};
