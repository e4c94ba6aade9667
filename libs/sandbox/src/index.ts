export * from './fcm';
export * from './recorder';
export * from './sandbox-hub';
export * from './sandbox.module';
export * from './smtp';
export * from './twilio';
export * from './webhook';
