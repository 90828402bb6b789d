// Guards the quick acceptance of hot payloads: whatever the pipe accepts
// without class-validator must be exactly what Nest's own ValidationPipe,
// configured like ours, accepts and returns; everything else must still be
// refused as VALIDATION_FAILED. Where we are stricter than Nest on purpose
// (prototype keys, lone surrogates, deep nesting), both paths refuse.
import 'reflect-metadata';
import { jest } from '@jest/globals';
import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { ValidationFailedError } from '@p2p-pubsub/protocol';
import {
  AckDto,
  AddSubscriberDto,
  DeliverDto,
  ForwardedPublishDto,
  LookupDto,
  PublishDto,
  PullDto,
  SubscribeDto,
  TopicDto,
  TopicEpochDto,
} from '@p2p-pubsub/protocol/dto';
import { DtoAcceptor } from './dto-acceptor';
import { MAX_PAYLOAD_DEPTH, PayloadValidationPipe } from './validation.pipe';

const reference = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: false,
  transform: true,
});

const VALUES: unknown[] = [
  undefined,
  null,
  '',
  'Sports',
  'bad name!',
  'x'.repeat(255),
  'x'.repeat(256),
  '5',
  -1,
  0,
  1,
  1.5,
  1000,
  1001,
  60_000,
  60_001,
  true,
  [],
  {},
];

/** The valid payload, and every variant with one field changed, removed or added. */
function variants(valid: Record<string, unknown>, fields: string[]): unknown[] {
  const out: unknown[] = [valid];
  for (const field of fields) {
    for (const value of VALUES) {
      const changed = { ...valid };
      if (value === undefined) delete changed[field];
      else changed[field] = value;
      out.push(changed);
    }
  }
  out.push({ ...valid, extra: 1 });
  return out;
}

/** Variants Nest's pipe accepts (class-transformer skips these keys) and ours refuses. */
function prototypeKeyVariants(valid: Record<string, unknown>): unknown[] {
  const rest = JSON.stringify(valid).slice(1);
  return [
    JSON.parse(`{"__proto__": {"polluted": true}, ${rest}`),
    JSON.parse(`{"constructor": "x", ${rest}`),
    JSON.parse(`{"prototype": {}, ${rest}`),
    JSON.parse(`{"__proto__": null, ${rest}`),
  ];
}

async function outcome(
  pipe: ValidationPipe,
  value: unknown,
  metatype: ArgumentMetadata['metatype'],
) {
  try {
    // Through JSON, as every payload reaches the pipe.
    const result = await pipe.transform(JSON.parse(JSON.stringify(value)), {
      type: 'body',
      metatype,
    });
    return { accepted: true, result };
  } catch (error) {
    return { accepted: false, error };
  }
}

describe('PayloadValidationPipe', () => {
  const pipe = new PayloadValidationPipe();

  it.each([
    [
      'PublishDto',
      PublishDto,
      { topic: 'Sports', message: 'Football match tonight!' },
      ['topic', 'message'],
    ],
    [
      'PullDto',
      PullDto,
      {
        topic: 'Sports',
        consumer: 'default',
        max: 100,
        fromOffset: 0,
        waitMs: 1000,
        autoAck: false,
      },
      ['topic', 'consumer', 'max', 'fromOffset', 'waitMs', 'autoAck'],
    ],
    [
      'AckDto',
      AckDto,
      { topic: 'Sports', consumer: 'default', nextOffset: 7 },
      ['topic', 'consumer', 'nextOffset'],
    ],
    ['LookupDto', LookupDto, { topic: 'Sports' }, ['topic']],
    ['TopicDto', TopicDto, { topic: 'Sports' }, ['topic']],
    [
      'ForwardedPublishDto',
      ForwardedPublishDto,
      { topic: 'Sports', message: 'Goal!', epoch: 1_764_100_000_000 },
      ['topic', 'message', 'epoch'],
    ],
    ['TopicEpochDto', TopicEpochDto, { topic: 'Sports', epoch: 7 }, ['topic', 'epoch']],
  ])(
    'accepts and refuses %s payloads exactly as Nest does',
    async (_name, metatype, valid, fields) => {
      for (const value of variants(valid, fields)) {
        const ours = await outcome(pipe, value, metatype);
        const nests = await outcome(reference, value, metatype);
        expect({ value, accepted: ours.accepted }).toEqual({
          value,
          accepted: nests.accepted,
        });
        if (ours.accepted) {
          expect(ours.result).toBeInstanceOf(metatype);
          expect(ours.result).toEqual(nests.result);
        } else {
          expect(ours.error).toBeInstanceOf(ValidationFailedError);
        }
      }
      for (const value of prototypeKeyVariants(valid)) {
        const ours = await outcome(pipe, value, metatype);
        expect({ value, accepted: ours.accepted }).toEqual({ value, accepted: false });
        expect(ours.error).toBeInstanceOf(ValidationFailedError);
      }
    },
  );

  it('accepts and refuses DeliverDto batches, with their nested records, exactly as Nest does', async () => {
    const record = {
      offset: 7,
      message: 'Football match tonight!',
      publishedAt: 1_700_000_000_000.5,
    };
    const batch = (records: unknown[]) => ({
      topic: 'Sports',
      epoch: 1_764_100_000_000,
      incarnation: '9f86d081884c7d65',
      records,
    });
    const payloads = [
      ...variants(batch([record, { ...record, offset: 8 }]), [
        'topic',
        'epoch',
        'incarnation',
        'records',
      ]),
      { ...batch([record]), incarnation: 'x'.repeat(65) },
      { ...batch([record]), incarnation: 'not/an id' },
      ...variants(record, ['offset', 'message', 'publishedAt']).map((item) =>
        batch([record, item]),
      ),
      batch([]),
      batch([record, null]),
      batch([[record]]),
      batch(Array.from({ length: 10_001 }, (_, offset) => ({ ...record, offset }))),
    ];
    for (const value of payloads) {
      const ours = await outcome(pipe, value, DeliverDto);
      const nests = await outcome(reference, value, DeliverDto);
      expect({ value, accepted: ours.accepted }).toEqual({
        value,
        accepted: nests.accepted,
      });
      if (ours.accepted) expect(ours.result).toEqual(nests.result);
    }
  });

  describe('stricter than Nest', () => {
    const refusal = async (value: unknown, metatype: ArgumentMetadata['metatype']) => {
      const { accepted, error } = await outcome(pipe, value, metatype);
      expect(accepted).toBe(false);
      expect(error).toBeInstanceOf(ValidationFailedError);
      return (error as ValidationFailedError).message;
    };
    const record = { offset: 0, message: 'Goal!', publishedAt: 1 };

    it('refuses a lone surrogate in a message, which UTF-8 would store as U+FFFD', async () => {
      for (const message of ['\ud800', 'a\udfffb', 'x'.repeat(100) + '\ud83d']) {
        expect(await refusal({ topic: 'Sports', message }, PublishDto)).toMatch(
          /message is not well-formed Unicode/,
        );
        expect(
          await refusal({ topic: 'Sports', records: [record, { ...record, message }] }, DeliverDto),
        ).toMatch(/records\[1\]\.message is not well-formed/);
      }
      // A surrogate pair is a character like any other.
      expect((await outcome(pipe, { topic: 'Sports', message: '😀' }, PublishDto)).accepted).toBe(
        true,
      );
    });

    it('refuses prototype keys at any depth, before class-transformer copies them', async () => {
      const nested = JSON.parse(
        '{"topic": "Sports", "records": [{"offset": 0, "message": "m", "publishedAt": 1, "__proto__": {"x": 1}}]}',
      );
      expect(await refusal(nested, DeliverDto)).toMatch(/the key '__proto__'/);
      expect(
        await refusal({ topic: 'Sports', records: [{ ...record, prototype: 1 }] }, DeliverDto),
      ).toMatch(/the key 'prototype'/);
    });

    it(`refuses nesting deeper than ${MAX_PAYLOAD_DEPTH} levels without overflowing the stack`, async () => {
      for (const depth of [MAX_PAYLOAD_DEPTH + 1, 100_000]) {
        const text = `{"topic": "Sports", "message": ${'['.repeat(depth)}${']'.repeat(depth)}}`;
        // Straight to the pipe: JSON.stringify itself cannot take this depth.
        const error = await pipe
          .transform(JSON.parse(text), { type: 'body', metatype: PublishDto })
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ValidationFailedError);
        expect((error as Error).message).toMatch(/nested deeper than/);
      }
      // Just under the bound: refused by the DTO's own rule, not by the depth check.
      const shallow = JSON.parse(
        `{"topic": "Sports", "message": ${'['.repeat(MAX_PAYLOAD_DEPTH - 1)}${']'.repeat(MAX_PAYLOAD_DEPTH - 1)}}`,
      );
      const message = await pipe
        .transform(shallow, { type: 'body', metatype: PublishDto })
        .catch((caught: Error) => caught.message);
      expect(message).toMatch(/message must be a string/);
    });
  });

  it('takes valid publish, forwarded publish and deliver payloads without class-validator', async () => {
    const fullValidation = jest.spyOn(ValidationPipe.prototype, 'transform');
    await pipe.transform(
      { topic: 'Sports', message: 'Goal!' },
      { type: 'body', metatype: PublishDto },
    );
    await pipe.transform(
      { topic: 'Sports', message: 'Goal!', epoch: 1_764_100_000_000 },
      { type: 'body', metatype: ForwardedPublishDto },
    );
    await pipe.transform(
      {
        topic: 'Sports',
        epoch: 1_764_100_000_000,
        incarnation: '9f86d081884c7d65',
        records: [{ offset: 0, message: 'Goal!', publishedAt: 1 }],
      },
      { type: 'body', metatype: DeliverDto },
    );
    expect(fullValidation).not.toHaveBeenCalled();
    fullValidation.mockRestore();
  });

  it('leaves DTOs with rules it does not know entirely to class-validator', () => {
    for (const dto of [SubscribeDto, AddSubscriberDto]) {
      expect(DtoAcceptor.for(dto)).toBeUndefined();
    }
    expect(DtoAcceptor.for(PublishDto)).toBeDefined();
    expect(DtoAcceptor.for(ForwardedPublishDto)).toBeDefined();
    expect(DtoAcceptor.for(DeliverDto)).toBeDefined();
  });
});
