export * from './patterns';
export * from './errors';
export * from './results';
export * from './dto';
export * from './limits';
export * from './bare-commands';
