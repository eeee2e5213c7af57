import { parseJson, type Executor } from './dialect.js'
import { sealSpec } from './secrets.js'

/** A notification channel as stored: its spec as written and where it came from. */
export interface StoredChannel {
  slug: string
  type: string
  spec: Record<string, unknown>
  source: string
  createdAt: number
  updatedAt: number
}

/** Creates or replaces a channel. */
export async function upsertChannel(
  db: Executor,
  channel: Pick<StoredChannel, 'slug' | 'type' | 'spec' | 'source'>,
  now: number,
): Promise<void> {
  const spec = JSON.stringify(sealSpec(db, 'channels', channel.type, channel.spec))
  await db
    .insertInto('channels')
    .values({
      slug: channel.slug,
      type: channel.type,
      spec,
      source: channel.source,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('slug').doUpdateSet({
        type: channel.type,
        spec,
        source: channel.source,
        updated_at: now,
      }),
    )
    .execute()
}

/** Every channel, by slug. */
export async function listChannels(db: Executor): Promise<StoredChannel[]> {
  const rows = await db.selectFrom('channels').selectAll().orderBy('slug').execute()
  return rows.map((r) => ({
    slug: r.slug,
    type: r.type,
    spec: parseJson(r.spec, {}),
    source: r.source,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }))
}

/** Deletes a channel; its queued notifications stay and fail with a clear reason. */
export async function deleteChannel(db: Executor, slug: string): Promise<boolean> {
  const result = await db.deleteFrom('channels').where('slug', '=', slug).executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}
