export * from './refs';
export * from './swot';
export * from './dataClasses';
export * from './appDefinition';
export * from './storage';
export * from './architecture';
export * from './instance';
export * from './entity';
