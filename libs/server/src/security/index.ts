export * from './access.guards';
export * from './caller';
export * from './permissions';
export * from './security';
export * from './security.module';
export * from './security.settings';
