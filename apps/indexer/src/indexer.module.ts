import { DynamicModule, Global, Module } from '@nestjs/common';
import { Security, SecurityModule, ServiceModule } from '@p2p-pubsub/server';
import { IndexerConfig } from './indexer.config';
import { IndexerOpsModule } from './ops/indexer-ops.module';
import { RegistryModule } from './registry/registry.module';

@Global()
@Module({})
export class IndexerModule {
  static forRoot(config: IndexerConfig, security: Security): DynamicModule {
    return {
      module: IndexerModule,
      imports: [ServiceModule, SecurityModule.forRoot(security), RegistryModule, IndexerOpsModule],
      providers: [{ provide: IndexerConfig, useValue: config }],
      exports: [IndexerConfig],
    };
  }
}
