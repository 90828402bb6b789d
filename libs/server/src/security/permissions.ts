import { createHash } from 'crypto';

/** What the permissions file grants per topic; `subscribe` covers subscribe, unsubscribe and pull. */
export const TopicActions = ['publish', 'subscribe', 'create', 'delete'] as const;
export type TopicAction = (typeof TopicActions)[number];

/**
 * A topic pattern, NATS style: topics are read as tokens separated by '.';
 * `*` stands for exactly one token, `>` (last only) for one or more, any
 * other token for itself. `orders.*` matches `orders.eu` but not `orders`
 * or `orders.eu.north`; `orders.>` matches both of the latter; `>` matches
 * every topic.
 */
export class TopicPattern {
  private readonly regex: RegExp;

  constructor(readonly source: string) {
    const tokens = source.split('.');
    const parts = tokens.map((token, index) => {
      if (token === '>') {
        if (index !== tokens.length - 1) throw new Error(`'>' may only end a pattern`);
        return '.+';
      }
      if (token === '*') return '[^.]*';
      if (!/^[A-Za-z0-9_-]*$/.test(token)) {
        throw new Error(`the token '${token}' is neither '*', '>' nor topic name characters`);
      }
      return token;
    });
    if (source.length === 0 || source.length > 255)
      throw new Error('a pattern is 1-255 characters');
    this.regex = new RegExp(`^${parts.join('\\.')}$`);
  }

  matches(topic: string): boolean {
    return this.regex.test(topic);
  }
}

interface Grants {
  admin: boolean;
  allow: Map<TopicAction, TopicPattern[]>;
  deny: Map<TopicAction, TopicPattern[]>;
}

export class PermissionsFileError extends Error {}

/**
 * Who may do what with which topics, as the permissions file says:
 *
 *   {
 *     "principals": {
 *       "client/alice": {
 *         "allow": { "publish": ["orders.*"], "subscribe": ["orders.*", "news.>"] },
 *         "deny":  { "publish": ["orders.audit"] }
 *       },
 *       "client/ops": { "admin": true },
 *       "client/bob": { "tokens": ["sha256:<hex>"], "allow": { "subscribe": [">"] } }
 *     }
 *   }
 *
 * A request is allowed when an allow pattern of its action matches the
 * topic and no deny pattern does (deny wins). A principal with no entry may
 * do nothing; an admin may do everything, including deleting topics that
 * others created. A client may authenticate with a token instead of a
 * certificate: the file lists the SHA-256 of each of its tokens (never the
 * token itself, so the file is no secret).
 */
export class Permissions {
  private constructor(
    private readonly principals: ReadonlyMap<string, Grants>,
    /** SHA-256 (hex) of a token, to the client it authenticates. */
    private readonly tokens: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** Nobody may do anything: security on without a permissions file. */
  static readonly none = new Permissions(new Map());

  /** Parses and checks the file's text; the error says where it is wrong. */
  static parse(text: string): Permissions {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new PermissionsFileError(`not JSON: ${(error as Error).message}`);
    }
    const root = object(document, 'the file');
    only(root, ['principals'], 'the file');
    const principals = new Map<string, Grants>();
    const tokens = new Map<string, string>();
    for (const [id, entry] of Object.entries(object(root.principals ?? {}, 'principals'))) {
      const where = `principals["${id}"]`;
      if (!/^(client|peer|indexer)\/[A-Za-z0-9._:-]{1,255}$/.test(id)) {
        throw new PermissionsFileError(`${where}: a principal is <role>/<name>, e.g. client/alice`);
      }
      const fields = object(entry, where);
      only(fields, ['admin', 'allow', 'deny', 'tokens'], where);
      for (const digest of tokenDigests(fields.tokens, id, `${where}.tokens`)) {
        const holder = tokens.get(digest);
        if (holder !== undefined) {
          throw new PermissionsFileError(`${where}.tokens: the same token is also ${holder}'s`);
        }
        tokens.set(digest, id);
      }
      if (fields.admin !== undefined && typeof fields.admin !== 'boolean') {
        throw new PermissionsFileError(`${where}.admin: must be true or false`);
      }
      principals.set(id, {
        admin: fields.admin === true,
        allow: actions(fields.allow, `${where}.allow`),
        deny: actions(fields.deny, `${where}.deny`),
      });
    }
    return new Permissions(principals, tokens);
  }

  /** The client a token authenticates, by its SHA-256; undefined when no entry lists it. */
  principalForToken(token: string): string | undefined {
    return this.tokens.get(createHash('sha256').update(token).digest('hex'));
  }

  get size(): number {
    return this.principals.size;
  }

  hasEntry(principalId: string): boolean {
    return this.principals.has(principalId);
  }

  isAdmin(principalId: string): boolean {
    return this.principals.get(principalId)?.admin === true;
  }

  allows(principalId: string, action: TopicAction, topic: string): boolean {
    const grants = this.principals.get(principalId);
    if (!grants) return false;
    if (grants.deny.get(action)?.some((pattern) => pattern.matches(topic))) return false;
    if (grants.admin) return true;
    return grants.allow.get(action)?.some((pattern) => pattern.matches(topic)) ?? false;
  }
}

/** `["sha256:<64 hex digits>", ...]`, for a client only (cluster members have certificates). */
function tokenDigests(value: unknown, principal: string, where: string): string[] {
  if (value === undefined) return [];
  if (!principal.startsWith('client/')) {
    throw new PermissionsFileError(`${where}: only a client authenticates with a token`);
  }
  if (!Array.isArray(value)) {
    throw new PermissionsFileError(`${where}: must be a list of "sha256:<hex>" digests`);
  }
  return value.map((entry: unknown, index) => {
    const match = typeof entry === 'string' ? /^sha256:([0-9a-f]{64})$/.exec(entry) : null;
    if (!match) {
      throw new PermissionsFileError(
        `${where}[${index}]: must be "sha256:" and the token's SHA-256 in 64 lowercase hex digits`,
      );
    }
    return match[1];
  });
}

function actions(value: unknown, where: string): Map<TopicAction, TopicPattern[]> {
  const result = new Map<TopicAction, TopicPattern[]>();
  if (value === undefined) return result;
  const fields = object(value, where);
  only(fields, TopicActions, where);
  for (const action of TopicActions) {
    const patterns = fields[action];
    if (patterns === undefined) continue;
    if (!Array.isArray(patterns)) {
      throw new PermissionsFileError(`${where}.${action}: must be a list of topic patterns`);
    }
    result.set(
      action,
      patterns.map((source: unknown, index) => {
        if (typeof source !== 'string') {
          throw new PermissionsFileError(`${where}.${action}[${index}]: must be a string`);
        }
        try {
          return new TopicPattern(source);
        } catch (error) {
          throw new PermissionsFileError(
            `${where}.${action}[${index}] '${source}': ${(error as Error).message}`,
          );
        }
      }),
    );
  }
  return result;
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PermissionsFileError(`${where}: must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function only(fields: Record<string, unknown>, known: readonly string[], where: string): void {
  const unknown = Object.keys(fields).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new PermissionsFileError(
      `${where}: unknown field(s) ${unknown.map((key) => `'${key}'`).join(', ')}; known: ${known.join(', ')}`,
    );
  }
}
