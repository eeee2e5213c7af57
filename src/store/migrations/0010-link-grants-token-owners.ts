import type { Kysely, Migration } from 'kysely'
import { decodeAckLinkPayload } from '../../core/escalation/index.js'
import type { Dialect } from '../dialect.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Signed one-click links leave the store: an outbox row keeps only what its links may do
 * (`notifications.link_grant`: incident, recipient, actions) and the dispatcher signs them when
 * it sends. Rows written before this migration carried the signed URLs in their payload; they
 * are rewritten to a grant here. API tokens get an owner (`user:<id>`, `cli:<os user>`,
 * `system`) and runbook runs the person who asked for them, so the two-person rule compares
 * people rather than identities.
 */
export function linkGrantsTokenOwnersMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('notifications').addColumn('link_grant', 'text').execute()
      await db.schema.alterTable('api_tokens').addColumn('owner', 'text').execute()
      await db.schema.alterTable('runbook_runs').addColumn('requested_by_person', 'text').execute()

      await rewriteLegacyLinkPayloads(db)
    },
  }
}

/**
 * Rewrites outbox rows written before 0010, whose payload held signed one-click URLs: the
 * `actions` leave the payload and their claims (incident, recipient, actions) become the row's
 * link grant, so a pending message still goes out with links, signed when it is sent.
 */
export async function rewriteLegacyLinkPayloads(db: Kysely<any>): Promise<number> {
  let rewritten = 0
  const rows = (await db
    .selectFrom('notifications')
    .select(['id', 'payload'])
    .where('payload', 'like', '%"actions"%')
    .execute()) as { id: string; payload: string }[]
  for (const row of rows) {
    let message: Record<string, unknown>
    try {
      message = JSON.parse(row.payload) as Record<string, unknown>
    } catch {
      continue
    }
    if (!Array.isArray(message.actions)) continue
    const { actions, ...rest } = message
    const claims = (actions as { url?: unknown }[]).flatMap((action) => {
      const url = typeof action.url === 'string' ? action.url : ''
      const token = url.slice(url.lastIndexOf('/') + 1)
      // Only the claims are kept (the signature is dropped), so expiry does not matter here.
      const decoded = decodeAckLinkPayload(token.slice(0, token.indexOf('.')), 0)
      return decoded.ok || decoded.reason === 'expired' ? [decoded.claims] : []
    })
    const first = claims[0]
    const grant =
      first === undefined
        ? null
        : JSON.stringify({
            incidentId: first.incidentId,
            recipient: first.user,
            actions: claims.map((c) => c.action),
          })
    await db
      .updateTable('notifications')
      .set({ payload: JSON.stringify(rest), link_grant: grant })
      .where('id', '=', row.id)
      .execute()
    rewritten++
  }
  return rewritten
}
