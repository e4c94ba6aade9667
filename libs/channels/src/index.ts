export * from './provider';
export * from './templates';
