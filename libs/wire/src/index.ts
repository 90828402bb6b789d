export * from './frame-decoder';
export * from './packets';
export * from './wire-limits';
export * from './write-coalescing';
