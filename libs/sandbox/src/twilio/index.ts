export * from './twilio-sandbox';
