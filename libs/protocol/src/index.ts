export * from './patterns';
export * from './errors';
export * from './results';
export * from './limits';
export * from './bare-commands';
export * from './fields';
export * from './identity';
