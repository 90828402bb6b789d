// Guards the quick acceptance of hot payloads: whatever the pipe accepts
// without class-validator must be exactly what Nest's own ValidationPipe,
// configured like ours, accepts and returns; everything else must still be
// refused as VALIDATION_FAILED.
import 'reflect-metadata';
import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import {
  AddSubscriberDto,
  DeliverDto,
  LookupDto,
  PublishDto,
  PullDto,
  SubscribeDto,
  TopicDto,
  ValidationFailedError,
} from '@app/protocol';
import { compileDtoAcceptor } from './dto-acceptor';
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
  out.push(
    JSON.parse(
      `{"__proto__": {"polluted": true}, ${JSON.stringify(valid).slice(1)}`,
    ),
  );
  out.push({ ...valid, constructor: 'x' });
  return out;
}

async function outcome(
  pipe: ValidationPipe,
  value: unknown,
  metatype: ArgumentMetadata['metatype'],
) {
  try {
    const result = await pipe.transform(structuredClone(value), {
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

  it('leaves DTOs with rules it does not know entirely to class-validator', () => {
    for (const dto of [DeliverDto, SubscribeDto, AddSubscriberDto]) {
      expect(compileDtoAcceptor(dto)).toBeUndefined();
    }
    expect(compileDtoAcceptor(PublishDto)).toBeDefined();
  });
});
