// Guards the quick acceptance of hot payloads: whatever the pipe accepts
// without class-validator must be exactly what Nest's own ValidationPipe,
// configured like ours, accepts and returns; everything else must still be
// refused as VALIDATION_FAILED.
import 'reflect-metadata';
import { jest } from '@jest/globals';
import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { ValidationFailedError } from '@p2p-pubsub/protocol';
import {
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
import { PayloadValidationPipe } from './validation.pipe';

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
  out.push(JSON.parse(`{"__proto__": {"polluted": true}, ${JSON.stringify(valid).slice(1)}`));
  out.push({ ...valid, constructor: 'x' });
  return out;
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
      },
      ['topic', 'consumer', 'max', 'fromOffset', 'waitMs'],
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
