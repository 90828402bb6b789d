import { DynamicModule, Global, Module } from '@nestjs/common';
import { Security } from './security';

/**
 * Provides the process's Security (made before the application, see
 * Security) to the guards and to whatever opens connections out.
 */
@Global()
@Module({})
export class SecurityModule {
  static forRoot(security: Security): DynamicModule {
    return {
      module: SecurityModule,
      providers: [{ provide: Security, useValue: security }],
      exports: [Security],
    };
  }
}
