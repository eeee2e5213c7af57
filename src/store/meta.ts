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
