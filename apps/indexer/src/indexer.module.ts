import { DynamicModule, Global, Module } from '@nestjs/common';
import { ServiceModule } from '@p2p-pubsub/server';
import { IndexerConfig } from './indexer.config';
import { RegistryModule } from './registry/registry.module';

@Global()
@Module({})
export class IndexerModule {
  static forRoot(config: IndexerConfig): DynamicModule {
    return {
      module: IndexerModule,
      imports: [ServiceModule, RegistryModule],
      providers: [{ provide: IndexerConfig, useValue: config }],
      exports: [IndexerConfig],
    };
  }
}
