export * from './fcm-sandbox';
