/** The roles a worker process can run; `all` in WORKER_ROLES is not a role, every role is listed. */
export const WORKER_ROLES = ['relay', 'fanout', 'email', 'sms', 'push', 'inapp', 'webhook', 'housekeeping'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];
