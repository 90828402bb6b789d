import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { ErrorCodes, ErrorReply, PubSubError, isErrorReply } from '@p2p-pubsub/protocol';
import { Observable, throwError } from 'rxjs';

/**
 * The one place an error becomes a reply. Domain errors keep their code;
 * anything unexpected is logged with its stack and reaches the caller as
 * INTERNAL, never as Nest's bare "Internal server error".
 */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('RpcErrorFilter');

  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => this.toReply(exception));
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
