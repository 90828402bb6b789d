import { DynamicModule, Module, ModuleMetadata, Provider } from '@nestjs/common';
import { PubSubClient } from './pubsub-client';
import { PubSubClientOptions } from './pubsub-client.options';

/** The options PubSubModule was given; inject it to read them back. */
export const PUBSUB_CLIENT_OPTIONS = Symbol('PUBSUB_CLIENT_OPTIONS');

export interface PubSubModuleOptions extends PubSubClientOptions {
  /** Register the client in every module without importing PubSubModule there. */
  isGlobal?: boolean;
}

export interface PubSubModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Builds the options from injected providers, such as ConfigService. */
  useFactory: (...args: any[]) => PubSubClientOptions | Promise<PubSubClientOptions>;
  inject?: Array<string | symbol | Function>;
  isGlobal?: boolean;
}

/**
 * Provides PubSubClient, a ClientProxy for one peer, to inject anywhere:
 *
 *   PubSubModule.forRoot({ peer: 'localhost:5555' })
 *   PubSubModule.forRootAsync({
 *     imports: [ConfigModule],
 *     inject: [ConfigService],
 *     useFactory: (config: ConfigService) => ({ peer: config.getOrThrow('PUBSUB_PEER') }),
 *   })
 *
 * The client connects on first use and closes when the application shuts down.
 */
@Module({})
export class PubSubModule {
  static forRoot(options: PubSubModuleOptions): DynamicModule {
    const { isGlobal, ...clientOptions } = options;
    return PubSubModule.module(isGlobal, [], {
      provide: PUBSUB_CLIENT_OPTIONS,
      useValue: clientOptions,
    });
  }

  static forRootAsync(options: PubSubModuleAsyncOptions): DynamicModule {
    return PubSubModule.module(options.isGlobal, options.imports ?? [], {
      provide: PUBSUB_CLIENT_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    });
  }

  private static module(
    isGlobal: boolean | undefined,
    imports: NonNullable<ModuleMetadata['imports']>,
    optionsProvider: Provider,
  ): DynamicModule {
    return {
      module: PubSubModule,
      global: isGlobal ?? false,
      imports,
      providers: [
        optionsProvider,
        {
          provide: PubSubClient,
          useFactory: (options: PubSubClientOptions) => new PubSubClient(options),
          inject: [PUBSUB_CLIENT_OPTIONS],
        },
      ],
      exports: [PubSubClient, PUBSUB_CLIENT_OPTIONS],
    };
  }
}
