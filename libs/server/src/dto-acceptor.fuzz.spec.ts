// Property-based tests of the validation fast path against class-validator
// itself: for random payloads of every DTO the acceptor compiles (near-valid
// ones mostly: one field off, a wrong type, an extra key, nested records),
// a payload the acceptor lets through must be one class-validator finds no
// fault with, and the pipe must accept, refuse and return exactly what
// Nest's own ValidationPipe does, except where it is stricter on purpose
// (prototype keys, lone surrogates, deep nesting: it refuses those whatever
// Nest says). See test/support/fuzz.ts (FUZZ_RUNS, FUZZ_SEED).
import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import * as dtos from '@p2p-pubsub/protocol/dto';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import fc from 'fast-check';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzz } from '../../../test/support/fuzz';
import { DtoAcceptor } from './dto-acceptor';
import { PayloadValidationPipe } from './validation.pipe';

const reference = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: false,
  transform: true,
});
const ours = new PayloadValidationPipe();

/** Values at and around every rule's edges. */
const name = fc.oneof(
  fc.constantFrom(
    'Sports',
    'a.b-c_d',
    '..',
    'x'.repeat(255),
    'x'.repeat(256),
    '',
    'bad name!',
    'é',
  ),
  fc.string({ maxLength: 12 }),
);
const number = fc.oneof(
  fc.integer({ min: -3, max: 70_000 }),
  fc.constantFrom(0, -0, 1.5, 1000, 1001, 60_000, 60_001, 65535, 65536, 2 ** 53, 1e300),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const scalar: fc.Arbitrary<unknown> = fc.oneof(
  name,
  number,
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('latest', 'earliest'),
);
const edge = fc.oneof(scalar, fc.constant([]), fc.constant({}), fc.array(scalar, { maxLength: 2 }));

const RECORD = { offset: 7, message: 'Goal!', publishedAt: 1_700_000_000_000.5 };

/** A valid payload of each DTO, which the generator takes apart. */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  TopicDto: { topic: 'Sports' },
  LookupDto: { topic: 'Sports' },
  PublishDto: { topic: 'Sports', message: 'Football match tonight!' },
  PullDto: {
    topic: 'Sports',
    consumer: 'default',
    max: 100,
    fromOffset: 0,
    waitMs: 1000,
    autoAck: false,
  },
  AckDto: { topic: 'Sports', consumer: 'billing', nextOffset: 12 },
  SubscribeDto: { topic: 'Sports', from: 'earliest' },
  DeliveredRecordDto: RECORD,
  DeliverDto: {
    topic: 'Sports',
    epoch: 1_764_100_000_000,
    incarnation: '9f86d081884c7d65',
    records: [RECORD, { ...RECORD, offset: 8 }],
  },
  ForwardedPublishDto: { topic: 'Sports', message: 'Goal!', epoch: 1_764_100_000_000 },
  TopicEpochDto: { topic: 'Sports', epoch: 1_764_100_000_000 },
  AddSubscriberDto: { topic: 'Sports', host: 'peer1', port: 5555, from: 3, epoch: 7 },
  RemoveSubscriberDto: { topic: 'Sports', peerId: 'peer1:5555' },
  TopicClaimDto: { topic: 'Sports', epoch: 7, incarnation: '9f86d081884c7d65' },
  RegisterDto: {
    host: 'peer1',
    port: 5555,
    topics: [{ topic: 'Sports', epoch: 7, incarnation: '9f86d081884c7d65' }],
    lastIndexerId: '0f1e2d3c4b5a6978',
  },
  PeerIdDto: { peerId: 'peer1:5555' },
  HeartbeatDto: { peerId: 'peer1:5555', topicsVersion: 12 },
  ClaimTopicDto: { topic: 'Sports', peerId: 'peer1:5555' },
  ReleaseTopicDto: { topic: 'Sports', peerId: 'peer1:5555', epoch: 7 },
  ListConsumersDto: { topic: 'Sports' },
  ConsumeDto: {
    topic: 'Sports',
    consumer: 'billing',
    from: 'latest',
    stream: 'a1b2c3',
    credit: 256,
    heartbeatMs: 5000,
  },
  ConsumeAckDto: { topic: 'Sports', consumer: 'billing', stream: 'a1b2c3', nextOffset: 12 },
  EmptyDto: {},
};

/** Each field kept (mostly), replaced by an edge value, or removed; sometimes a key added. */
function mutated(example: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const field = (original: unknown): fc.Arbitrary<unknown> => {
    // Mostly values of the field's own type, where the rules' edges are.
    const sameType =
      typeof original === 'number' ? number : typeof original === 'string' ? name : edge;
    const variants: Array<fc.WeightedArbitrary<unknown>> = [
      { weight: 4, arbitrary: fc.constant(original) },
      { weight: 3, arbitrary: sameType },
      { weight: 1, arbitrary: edge },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ];
    if (Array.isArray(original)) {
      variants.push({
        weight: 3,
        arbitrary: fc.array(
          fc.oneof(
            {
              weight: 4,
              arbitrary:
                typeof original[0] === 'object'
                  ? mutated(original[0] as Record<string, unknown>)
                  : fc.constant(original[0]),
            },
            { weight: 1, arbitrary: edge },
          ),
          { maxLength: 4 },
        ),
      });
    }
    return fc.oneof(...variants);
  };
  const fields = Object.fromEntries(
    Object.entries(example).map(([key, original]) => [key, field(original)]),
  );
  return fc
    .tuple(
      fc.record(fields),
      fc.option(fc.tuple(fc.constantFrom('extra', 'constructor'), scalar), { freq: 8 }),
    )
    .map(([payload, added]) => {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(payload)) if (item !== undefined) out[key] = item;
      if (added) out[added[0]] = added[1];
      return out;
    });
}

/** The DTO classes of libs/protocol. */
const classes = Object.values(dtos).filter(
  (candidate): candidate is new () => object =>
    typeof candidate === 'function' && candidate.name.endsWith('Dto'),
);

/** The DTOs the fast path takes; the others always get class-validator. */
const accepted = classes.filter((dto) => DtoAcceptor.for(dto) !== undefined);

/** Payloads for `dto`, as they reach the pipe: through JSON. */
function payloads(dto: Function) {
  return mutated(EXAMPLES[dto.name]).map(
    (payload) => JSON.parse(JSON.stringify(payload)) as Record<string, unknown>,
  );
}

/**
 * What PayloadValidationPipe refuses although Nest's pipe may accept it,
 * written out independently of the pipe's own walk.
 */
function stricterThanNest(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return !value.isWellFormed();
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= 32) return true;
  return Object.entries(value).some(
    ([key, item]) =>
      ['__proto__', 'constructor', 'prototype'].includes(key) ||
      !key.isWellFormed() ||
      stricterThanNest(item, depth + 1),
  );
}

async function outcome(pipe: ValidationPipe, payload: unknown, metatype: new () => object) {
  try {
    return { accepted: true, result: await pipe.transform(payload, { type: 'body', metatype }) };
  } catch {
    return { accepted: false };
  }
}

describe('the validation fast path, property-based', () => {
  it('has a valid example of every DTO, and acceptors to test', () => {
    expect(classes.map((dto) => dto.name).filter((name) => !EXAMPLES[name])).toEqual([]);
    expect(accepted.length).toBeGreaterThanOrEqual(4);
  });

  it.each(accepted.map((dto) => [dto.name, dto] as const))(
    '%s: what the acceptor lets through, class-validator finds valid',
    (_name, dto) => {
      const acceptor = DtoAcceptor.for(dto)!;
      let accepted = 0;
      fc.assert(
        fc.property(payloads(dto), (raw) => {
          if (!acceptor.hasOnlyDeclaredKeys(raw)) return;
          if (!acceptor.accepts(raw, plainToInstance(dto, raw))) return;
          accepted++;
          const errors = validateSync(plainToInstance(dto, raw), {
            whitelist: true,
            forbidNonWhitelisted: true,
            forbidUnknownValues: false,
          });
          expect(errors).toEqual([]);
        }),
        fuzz(),
      );
      // The generator must reach the fast path, or the property says nothing.
      expect(accepted).toBeGreaterThanOrEqual(FUZZ_RUNS >= 100 ? 1 : 0);
    },
    FUZZ_TIMEOUT_MS,
  );

  it.each(classes.map((dto) => [dto.name, dto] as const))(
    '%s: the pipe accepts, refuses and returns what Nest does, stricter only where it means to be',
    async (_name, dto) => {
      await fc.assert(
        fc.asyncProperty(payloads(dto), async (raw) => {
          const mine = await outcome(ours, structuredClone(raw), dto);
          const nests = await outcome(reference, structuredClone(raw), dto);
          expect(mine.accepted).toBe(nests.accepted && !stricterThanNest(raw));
          if (mine.accepted) expect(mine.result).toEqual(nests.result);
        }),
        fuzz({ numRuns: Math.ceil(FUZZ_RUNS / 3) }),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
