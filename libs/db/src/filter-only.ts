/**
 * `column IS NOT DISTINCT FROM value`: for a NOT NULL column the same test as `=`, but one no index can serve
 * and no partial index's predicate follows from. The hot path's statements find their rows by primary key
 * (`id = ANY($ids)`, a batch of up to a few hundred) and check the rest — the tenant, a status — with this,
 * so the primary key stays the planner's only way in.
 *
 * Why: with `tenant_id = $1` or `status = 'queued'`, statistics that lag behind the data (a new tenant, a
 * burst, a backlog — autoanalyze runs once a minute at best) led the planner to AND the primary key with the
 * tenant's index, or with the partial index of deliveries in motion, and read every entry of it per batch:
 * 35,835 index entries to claim 100 deliveries, more with each batch of a large send (auto_explain; see
 * docs/batching.md). What a batch of 100 costs must not depend on how much the tenant or the backlog holds.
 */
export function filterOnly(column: string, value: string): string {
  return `${column} IS NOT DISTINCT FROM ${value}`;
}
