import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { InFlightRequests } from './in-flight';
import { ServiceReadiness } from './readiness';
import { RpcErrorFilter } from './rpc-error.filter';
import { PayloadValidationPipe } from './validation.pipe';

/**
 * What every microservice here shares: payload validation, the error filter,
 * in-flight tracking for a graceful shutdown and the readiness report.
 * Imported once by each app's root module.
 */
@Global()
@Module({
  providers: [
    InFlightRequests,
    ServiceReadiness,
    { provide: APP_PIPE, useClass: PayloadValidationPipe },
    { provide: APP_FILTER, useClass: RpcErrorFilter },
  ],
  exports: [InFlightRequests, ServiceReadiness],
})
export class ServiceModule {}
