import type { Pool } from 'pg';

// The next members of an event's topics, each once, in subscriber-id order. One index range per
// topic (the primary key), each at most `limit` long: a batch costs the same at the millionth member
// as at the first, and a subscriber in two topics comes out once.
const NEXT_MEMBERS = `
SELECT DISTINCT m.subscriber_id AS "subscriberId"
FROM topics t
CROSS JOIN LATERAL (
  SELECT tm.subscriber_id FROM topic_members tm
  WHERE tm.topic_id = t.id AND tm.subscriber_id > $3
  ORDER BY tm.subscriber_id
  LIMIT $4
) m
WHERE t.tenant_id = $1 AND t.key = ANY($2::text[])
ORDER BY 1
LIMIT $4`;

/** Up to `limit` subscriber ids after `after` ('' = from the first) among the members of `topics`. */
export async function nextMembers(
  pool: Pool,
  tenantId: string,
  topics: string[],
  after: string,
  limit: number,
): Promise<string[]> {
  const { rows } = await pool.query<{ subscriberId: string }>(NEXT_MEMBERS, [tenantId, topics, after, limit]);
  return rows.map((r) => r.subscriberId);
}
