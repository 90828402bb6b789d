import { ArgumentMetadata, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidationFailedError } from '@p2p-pubsub/protocol';
import { plainToInstance } from 'class-transformer';
import { DtoAcceptor } from './dto-acceptor';

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {});
    return [...own, ...flatten(error.children ?? [], path)];
  });
}

/** No DTO nests this deep; a deeper payload is refused before anything recurses into it. */
export const MAX_PAYLOAD_DEPTH = 32;

/**
 * Keys that reach an object's prototype machinery. JSON.parse makes
 * `__proto__` an ordinary own key, which class-transformer then skips
 * silently instead of refusing it as an unknown field.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function refuse(problem: string): never {
  throw new ValidationFailedError(`Invalid payload: ${problem}`, [problem]);
}

/**
 * Refuses what no DTO accepts but class-transformer and class-validator
 * would mishandle: the keys above, nesting past MAX_PAYLOAD_DEPTH (their
 * recursion overflows the stack: INTERNAL instead of an answer), and
 * strings with a lone surrogate, which UTF-8 cannot carry (a message would
 * be stored as U+FFFD, different from the one acknowledged). Iterative, so
 * the depth check itself cannot overflow.
 */
export function assertPlainPayload(payload: unknown): void {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [
    { value: payload, depth: 0, path: '' },
  ];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (!value.isWellFormed())
        refuse(`${path || 'the payload'} is not well-formed Unicode (it has a lone surrogate)`);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_PAYLOAD_DEPTH) refuse(`nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        stack.push({ value: value[i], depth: depth + 1, path: `${path}[${i}]` });
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      const at = path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key)) refuse(`the key '${key}' (at ${at}) is not allowed`);
      if (!key.isWellFormed()) refuse(`a key is not well-formed Unicode (it has a lone surrogate)`);
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, path: at });
    }
  }
}

/**
 * Validates every payload against its DTO: unknown fields are rejected, types
 * are not coerced, and failures become VALIDATION_FAILED instead of the
 * BadRequestException that a TCP client would only see as an internal error.
 */
@Injectable()
export class PayloadValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      // Payloads are always turned into their DTO class first, so the
      // 'unknown value' check would only reject EmptyDto, which has no rules.
      forbidUnknownValues: false,
      transform: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => {
        const problems = flatten(errors);
        return new ValidationFailedError(`Invalid payload: ${problems.join('; ')}`, problems);
      },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata) {
    const expectsObject = metadata.metatype !== undefined && this.toValidate(metadata);
    if (expectsObject && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new ValidationFailedError('Invalid payload: expected a JSON object');
    }
    if (expectsObject) {
      const accepted = this.acceptQuickly(value as object, metadata.metatype!);
      if (accepted) return accepted;
      // Before class-transformer copies (and recurses into) the payload.
      assertPlainPayload(value);
    }
    return super.transform(value, metadata);
  }

  /**
   * The instance Nest's pipe would return for a payload that the DTO's
   * acceptor finds certainly valid; undefined sends it to full validation.
   */
  private acceptQuickly(value: object, metatype: Function): object | undefined {
    const acceptor = DtoAcceptor.for(metatype);
    // Unknown keys turn most bad payloads away before class-transformer copies them.
    if (!acceptor?.hasOnlyDeclaredKeys(value)) return undefined;
    const instance = plainToInstance(metatype as new () => object, value);
    return acceptor.accepts(value, instance) ? instance : undefined;
  }
}
