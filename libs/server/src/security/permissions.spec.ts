// Guards the permissions file's meaning: NATS-style topic patterns, deny
// winning over allow, nothing for a principal without an entry, admins, and
// a file that is wrong being refused with where it is wrong (so a typo
// cannot silently grant or take away access).
import { createHash } from 'crypto';
import { Permissions, TopicPattern } from './permissions';

const digest = (token: string) => `sha256:${createHash('sha256').update(token).digest('hex')}`;

const file = (principals: object) => JSON.stringify({ principals });

describe('TopicPattern', () => {
  it.each([
    ['orders.*', 'orders.eu', true],
    ['orders.*', 'orders', false],
    ['orders.*', 'orders.eu.north', false],
    ['orders.*', 'ordersXeu', false],
    ['orders.>', 'orders.eu.north', true],
    ['orders.>', 'orders', false],
    ['>', 'anything.at.all', true],
    ['*', 'billing', true],
    ['*', 'billing.eu', false],
    ['billing', 'billing', true],
    ['billing', 'billing2', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
  ])('%s on %s: %s', (pattern, topic, expected) => {
    expect(new TopicPattern(pattern).matches(topic)).toBe(expected);
  });

  it.each(['orders.>.eu', 'orders.e*', 'orders.(eu|us)', ''])(
    'refuses the pattern %j',
    (pattern) => {
      expect(() => new TopicPattern(pattern)).toThrow();
    },
  );
});

describe('Permissions', () => {
  const permissions = Permissions.parse(
    file({
      'client/alice': {
        allow: { publish: ['orders.*'], subscribe: ['orders.>'], create: ['orders.*'] },
        deny: { publish: ['orders.audit'] },
      },
      'client/ops': { admin: true, deny: { delete: ['keep.*'] } },
      'client/nobody': {},
    }),
  );

  it('allows what an allow pattern matches', () => {
    expect(permissions.allows('client/alice', 'publish', 'orders.eu')).toBe(true);
    expect(permissions.allows('client/alice', 'subscribe', 'orders.eu.north')).toBe(true);
  });

  it('lets deny win over allow', () => {
    expect(permissions.allows('client/alice', 'publish', 'orders.audit')).toBe(false);
  });

  it('refuses an action with no allow pattern, and topics no pattern matches', () => {
    expect(permissions.allows('client/alice', 'delete', 'orders.eu')).toBe(false);
    expect(permissions.allows('client/alice', 'subscribe', 'billing')).toBe(false);
  });

  it('refuses everything to a principal without an entry, or with an empty one', () => {
    expect(permissions.allows('client/mallory', 'publish', 'orders.eu')).toBe(false);
    expect(permissions.hasEntry('client/mallory')).toBe(false);
    expect(permissions.allows('client/nobody', 'publish', 'orders.eu')).toBe(false);
    expect(permissions.hasEntry('client/nobody')).toBe(true);
  });

  it('allows an admin everything but what its own deny list names', () => {
    expect(permissions.isAdmin('client/ops')).toBe(true);
    expect(permissions.allows('client/ops', 'delete', 'orders.eu')).toBe(true);
    expect(permissions.allows('client/ops', 'delete', 'keep.this')).toBe(false);
    expect(permissions.isAdmin('client/alice')).toBe(false);
  });

  it('knows a client by the SHA-256 of its token, and nobody by another token', () => {
    const withTokens = Permissions.parse(
      file({ 'client/bob': { tokens: [digest('s3cret'), digest('other')] } }),
    );
    expect(withTokens.principalForToken('s3cret')).toBe('client/bob');
    expect(withTokens.principalForToken('other')).toBe('client/bob');
    expect(withTokens.principalForToken('s3cret ')).toBeUndefined();
    expect(permissions.principalForToken('s3cret')).toBeUndefined();
  });

  it('grants nothing with no file', () => {
    expect(Permissions.none.allows('client/alice', 'publish', 'orders.eu')).toBe(false);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['a list at the top', '[]', /the file: must be a JSON object/],
    ['an unknown top-level field', '{"principal": {}}', /unknown field\(s\) 'principal'/],
    ['a principal that is not <role>/<name>', file({ alice: {} }), /principals\["alice"\]/],
    [
      'an unknown action',
      file({ 'client/a': { allow: { pull: ['x'] } } }),
      /principals\["client\/a"\]\.allow: unknown field\(s\) 'pull'/,
    ],
    [
      'patterns that are not a list',
      file({ 'client/a': { allow: { publish: 'x' } } }),
      /allow\.publish: must be a list/,
    ],
    [
      'a bad pattern',
      file({ 'client/a': { deny: { publish: ['a.>.b'] } } }),
      /deny\.publish\[0\] 'a\.>\.b'/,
    ],
    [
      'admin that is not a boolean',
      file({ 'client/a': { admin: 'yes' } }),
      /admin: must be true or false/,
    ],
    [
      'a token in the clear',
      file({ 'client/a': { tokens: ['s3cret'] } }),
      /tokens\[0\]: must be "sha256:"/,
    ],
    [
      "a cluster member's token",
      file({ 'peer/p:1': { tokens: [digest('x')] } }),
      /only a client authenticates with a token/,
    ],
    [
      'one token for two clients',
      file({ 'client/a': { tokens: [digest('x')] }, 'client/b': { tokens: [digest('x')] } }),
      /the same token is also client\/a's/,
    ],
  ])('refuses %s, saying where', (_what, text, message) => {
    expect(() => Permissions.parse(text)).toThrow(message);
  });
});
