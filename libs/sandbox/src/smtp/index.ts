export * from './smtp-sandbox';
