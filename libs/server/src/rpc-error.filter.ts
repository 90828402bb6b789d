import { ArgumentsHost, Catch, Logger, Optional, RpcExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { RpcException } from '@nestjs/microservices';
import { ErrorCodes, ErrorReply, PubSubError, isErrorReply } from '@p2p-pubsub/protocol';
import { Observable, throwError } from 'rxjs';
import { RequestMeter } from './ops/request-meter';

/**
 * The one place an error becomes a reply. Domain errors keep their code;
 * anything unexpected is logged with its stack and reaches the caller as
 * INTERNAL, never as Nest's bare "Internal server error". Every error reply
 * is counted by pattern and code.
 *
 * Global filters of the hybrid app also see the ops port's HTTP requests
 * (Terminus answers 503 by throwing); those get Nest's own HTTP handling.
 */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('RpcErrorFilter');
  private readonly http?: BaseExceptionFilter;

  constructor(
    @Optional() private readonly meter?: RequestMeter,
    @Optional() adapterHost?: HttpAdapterHost,
  ) {
    if (adapterHost?.httpAdapter) this.http = new BaseExceptionFilter(adapterHost.httpAdapter);
  }

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    if (host.getType() === 'http' && this.http) {
      this.http.catch(exception, host);
      return undefined as never;
    }
    const reply = this.toReply(exception);
    const pattern = host.switchToRpc().getContext<{ getPattern?(): string } | undefined>();
    this.meter?.countError(pattern?.getPattern?.() ?? '', reply.code);
    return throwError(() => reply);
  }

  private toReply(exception: unknown): ErrorReply {
    if (exception instanceof PubSubError) return exception.toReply();
    if (exception instanceof RpcException) {
      const error = exception.getError();
      if (isErrorReply(error)) return error;
    }
    this.logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    return { status: 'error', code: ErrorCodes.Internal, message: 'Internal error' };
  }
}
