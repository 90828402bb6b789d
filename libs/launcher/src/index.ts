export * from './contract';
export { GUARDIAN_ENV, guardianScript } from './guardian-link';
export * from './launched-process';
export * from './process-group';
