import {
  IsInt,
  IsString,
  Matches,
  Min,
  ValidateBy,
  ValidationOptions,
  buildMessage,
} from 'class-validator';
import { INCARNATION_PATTERN, NAME_PATTERN } from '../fields';

export function IsName(what: string): PropertyDecorator {
  const isString = IsString({ message: `${what} must be a string` });
  const matches = Matches(NAME_PATTERN, {
    message: `${what} must be 1-255 characters of A-Z, a-z, 0-9, '.', '_' or '-'`,
  });
  return (target, property) => {
    isString(target, property);
    matches(target, property);
  };
}

export const IsTopicName = (): PropertyDecorator => IsName('topic');

/** An incarnation id; string and pattern rules only, which the validation fast path knows. */
export function IsIncarnation(): PropertyDecorator {
  const isString = IsString({ message: 'incarnation must be a string' });
  const matches = Matches(INCARNATION_PATTERN, {
    message: "incarnation must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'",
  });
  return (target, property) => {
    isString(target, property);
    matches(target, property);
  };
}

/** A claim's epoch: a non-negative integer (milliseconds-based, so past 2^32). */
export function IsEpoch(): PropertyDecorator {
  const isInt = IsInt();
  const min = Min(0);
  return (target, property) => {
    isInt(target, property);
    min(target, property);
  };
}

/** `latest`, `earliest` or a non-negative integer offset. */
export function IsStartPosition(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStartPosition',
      validator: {
        validate: (value: unknown) =>
          value === 'latest' ||
          value === 'earliest' ||
          (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must be 'latest', 'earliest' or a non-negative integer offset`,
          options,
        ),
      },
    },
    options,
  );
}
