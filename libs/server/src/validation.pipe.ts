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
