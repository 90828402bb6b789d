// `@p2p-pubsub/client/nest`: the Nest integration. It needs @nestjs/common,
// @nestjs/microservices, rxjs and reflect-metadata (peer dependencies); the
// package's main entry loads none of them.
export * from './pubsub-client';
export * from './pubsub-client.options';
export * from './pubsub.module';
export * from './pubsub.context';
export * from './pubsub.server';
