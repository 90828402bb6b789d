import { applyDecorators } from '@nestjs/common';
import {
  IsString,
  Matches,
  ValidateBy,
  ValidationOptions,
  buildMessage,
} from 'class-validator';

/** Topic and consumer names: safe as file names, log keys and CLI arguments. */
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,255}$/;

export function IsName(what: string): PropertyDecorator {
  return applyDecorators(
    IsString({ message: `${what} must be a string` }),
    Matches(NAME_PATTERN, {
      message: `${what} must be 1-255 characters of A-Z, a-z, 0-9, '.', '_' or '-'`,
    }),
  );
}

export const IsTopicName = (): PropertyDecorator => IsName('topic');

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
