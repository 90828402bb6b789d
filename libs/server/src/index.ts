export * from './bootstrap';
export * from './config';
export * from './in-flight';
export * from './rpc-error.filter';
export * from './server-socket';
export * from './service.module';
export * from './tcp-server';
export * from './validation.pipe';
