export * from './bootstrap';
export * from './config';
export * from './in-flight';
export * from './rpc-error.filter';
export * from './service.module';
export * from './validation.pipe';
export * from './wire-limits';
export * from './wire-socket';
