import type { Executor } from './dialect.js'

/** Reads one key of the store's own settings (watermarks, install id). */
export async function getMeta(db: Executor, key: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('keel_meta')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirst()
  return row?.value
}

/** Writes one key of the store's own settings. */
export async function setMeta(db: Executor, key: string, value: string): Promise<void> {
  await db
    .insertInto('keel_meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute()
}

/**
 * Takes or renews a named job lease (roll-ups, pruning) so that one node of several runs it.
 * Returns true when `owner` holds the lease until `now + ttlMs`.
 */
export async function tryAcquireJobLease(
  db: Executor,
  name: string,
  owner: string,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  const key = `lease:${name}`
  const value = JSON.stringify({ owner, until: now + ttlMs })
  // Insert-if-absent first, then a compare-and-set on the exact previous value: both are single
  // statements, atomic on either dialect without explicit row locks.
  const inserted = await db
    .insertInto('keel_meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doNothing())
    .executeTakeFirst()
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return true
  const current = await getMeta(db, key)
  if (current === undefined) return false
  const lease = JSON.parse(current) as { owner: string; until: number }
  if (lease.owner !== owner && lease.until > now) return false
  const updated = await db
    .updateTable('keel_meta')
    .set({ value })
    .where('key', '=', key)
    .where('value', '=', current)
    .executeTakeFirst()
  return Number(updated.numUpdatedRows) > 0
}
