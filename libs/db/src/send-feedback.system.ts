import type { Pool, PoolClient } from 'pg';

type Queryable = Pool | PoolClient;

/** A push token a provider said is dead, with the tenant whose device it is. */
export interface DeadToken {
  tenantId: string;
  token: string;
  reason: string;
}

/** One webhook endpoint's answers within a recording, as they change its failure count. */
export interface EndpointFailures {
  /** an answer was a success: the count starts again from the failures after it */
  succeeded: boolean;
  /** failures since the last success (of these answers) */
  failures: number;
  /** the last failure's code, for the reason it is disabled */
  lastCode: string;
}

/** After how many failures in a row, over at least how long, an endpoint is disabled. */
export interface DisableLimits {
  afterFailures: number;
  afterSeconds: number;
}

// Each token is matched with its own tenant: a token string another tenant registered too stays active.
const DEACTIVATE_DEVICES = `
UPDATE devices SET active = false, deactivated_at = now(), updated_at = now(), deactivated_reason = dead.reason
FROM unnest($1::uuid[], $2::text[], $3::text[]) AS dead(tenant_id, token, reason)
WHERE devices.tenant_id = dead.tenant_id AND devices.token = dead.token AND devices.active`;

const DISABLE_ENDPOINT = `UPDATE webhook_endpoints SET active = false, disabled_reason = $2, updated_at = now() WHERE id = $1`;

// After a success the count is the failures since it, else it goes on from what it was.
const COUNT_ENDPOINT_FAILURES = `
WITH next AS (
  SELECT id,
    CASE WHEN $2 THEN $3 ELSE consecutive_failures + $3 END AS failures,
    CASE WHEN $3 = 0 THEN NULL WHEN $2 THEN now() ELSE COALESCE(first_failure_at, now()) END AS first_failure
  FROM webhook_endpoints WHERE id = $1 AND ($3 > 0 OR consecutive_failures > 0)
)
UPDATE webhook_endpoints w SET
  consecutive_failures = next.failures,
  first_failure_at = next.first_failure,
  active = w.active AND NOT (next.failures >= $4 AND next.first_failure <= now() - make_interval(secs => $5)),
  disabled_reason = CASE
    WHEN w.active AND next.failures >= $4 AND next.first_failure <= now() - make_interval(secs => $5)
    THEN 'failed ' || next.failures || ' times in a row since ' || next.first_failure || ', last: ' || $6
    ELSE w.disabled_reason END,
  updated_at = now()
FROM next WHERE w.id = next.id`;

/**
 * What providers' synchronous answers change about addresses beyond their deliveries: dead push tokens and
 * failing webhook endpoints. A system repository (docs/architecture.md, "Tenant-scoped and system
 * repositories"): a recording spans the tenants of the deliveries it ends, and finds devices by token and
 * endpoints by the id a claimed delivery names. Each runs in the caller's transaction, with the attempts.
 */
export const SendFeedbackRepository = {
  /** System: deactivates the active devices of these tokens (each within its tenant), with the reason. */
  async deactivateDevices(db: Queryable, dead: DeadToken[]): Promise<void> {
    if (!dead.length) return;
    await db.query(DEACTIVATE_DEVICES, [
      dead.map((d) => d.tenantId),
      dead.map((d) => d.token),
      dead.map((d) => d.reason),
    ]);
  },

  /** System: disables the endpoint at once (it answered that it is gone). */
  async disableEndpoint(db: Queryable, endpointId: string, reason: string): Promise<void> {
    await db.query(DISABLE_ENDPOINT, [endpointId, reason]);
  },

  /**
   * System: counts the endpoint's failures in a row on from these answers, disabling it once it has failed
   * `afterFailures` times over at least `afterSeconds`; writes nothing when there is nothing to count or reset.
   */
  async countEndpointFailures(
    db: Queryable,
    endpointId: string,
    answers: EndpointFailures,
    limits: DisableLimits,
  ): Promise<void> {
    await db.query(COUNT_ENDPOINT_FAILURES, [
      endpointId,
      answers.succeeded,
      answers.failures,
      limits.afterFailures,
      limits.afterSeconds,
      answers.lastCode,
    ]);
  },
};
