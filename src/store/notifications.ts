import type { Selectable } from 'kysely'
import type { NotificationMessage } from '../channels/channel.js'
import { parseJson, skipLocked, type Executor } from './dialect.js'
import type { NotificationRow } from './schema.js'

/**
 * What a message's one-click links may do: which incident, for whom (an on-call user id, or
 * `channel:<slug>` for a channel nobody in particular reads) and which actions. It is stored
 * instead of the links: the dispatcher signs them as it sends, so no working link is ever at
 * rest in the outbox or readable through the API.
 */
export interface LinkGrant {
  incidentId: number
  recipient: string
  actions: ('ack' | 'resolve')[]
}

/** An outbox row: one message to one channel, retried until delivered or given up. */
export interface Notification {
  id: string
  channelSlug: string
  alertFingerprint?: string
  /** The message as queued; it never holds signed `actions` (see `linkGrant`). */
  message: NotificationMessage
  /** The one-click links the dispatcher signs into the message when it sends it. */
  linkGrant?: LinkGrant
  status: 'pending' | 'delivered' | 'failed'
  attempts: number
  nextAttemptAt: number
  lastError?: string
  createdAt: number
  deliveredAt?: number
}

/** The message without signed links, which are credentials and never stored or shown. */
function withoutActions(message: NotificationMessage): NotificationMessage {
  const { actions: _actions, ...rest } = message
  return rest
}

function notificationFromRow(row: Selectable<NotificationRow>): Notification {
  const grant = parseJson<LinkGrant | undefined>(row.link_grant, undefined)
  return {
    id: row.id,
    channelSlug: row.channel_slug,
    ...(row.alert_fingerprint !== null ? { alertFingerprint: row.alert_fingerprint } : {}),
    message: withoutActions(parseJson(row.payload, {} as NotificationMessage)),
    ...(grant !== undefined ? { linkGrant: grant } : {}),
    status: row.status as Notification['status'],
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
    createdAt: row.created_at,
    ...(row.delivered_at !== null ? { deliveredAt: row.delivered_at } : {}),
  }
}

/**
 * Queues messages, due now; call it in the transaction that recorded their cause. A message's
 * one-click links go in as a `linkGrant`; signed `actions` in a message are dropped, never stored.
 */
export async function enqueueNotifications(
  db: Executor,
  items: readonly { channelSlug: string; message: NotificationMessage; linkGrant?: LinkGrant }[],
  now: number,
): Promise<void> {
  if (items.length === 0) return
  await db
    .insertInto('notifications')
    .values(
      items.map((item) => ({
        id: item.message.id,
        channel_slug: item.channelSlug,
        alert_fingerprint: item.message.fingerprint,
        payload: JSON.stringify(withoutActions(item.message)),
        link_grant:
          item.linkGrant !== undefined && item.linkGrant.actions.length > 0
            ? JSON.stringify(item.linkGrant)
            : null,
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
      })),
    )
    // The id is derived from the event, so enqueuing the same event twice is a no-op.
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
}

/**
 * Leases up to `limit` due pending notifications to `owner` until `now + leaseMs`. A node that
 * dies mid-delivery loses its lease and another attempt follows: delivery is at least once, and
 * each message carries its id so a receiver can drop the rare duplicate.
 */
export async function claimDueNotifications(
  db: Executor,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<Notification[]> {
  const due = db
    .selectFrom('notifications')
    .select('id')
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .orderBy('next_attempt_at')
    .limit(limit)
    .modifyEnd(skipLocked(db))
  const rows = await db
    .updateTable('notifications')
    .set((eb) => ({
      lease_owner: owner,
      lease_until: now + leaseMs,
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', 'in', due)
    .returningAll()
    .execute()
  return rows.map(notificationFromRow)
}

/** Marks a notification delivered. */
export async function markDelivered(db: Executor, id: string, now: number): Promise<void> {
  await db
    .updateTable('notifications')
    .set({
      status: 'delivered',
      delivered_at: now,
      lease_owner: null,
      lease_until: null,
      last_error: null,
    })
    .where('id', '=', id)
    .execute()
}

/** Schedules another attempt at `nextAttemptAt`, keeping the reason. */
export async function markRetry(
  db: Executor,
  id: string,
  nextAttemptAt: number,
  reason: string,
): Promise<void> {
  await db
    .updateTable('notifications')
    .set({
      next_attempt_at: nextAttemptAt,
      lease_owner: null,
      lease_until: null,
      last_error: reason.slice(0, 1000),
    })
    .where('id', '=', id)
    .execute()
}

/** Gives up on a notification with the reason. */
export async function markFailed(db: Executor, id: string, reason: string): Promise<void> {
  await db
    .updateTable('notifications')
    .set({
      status: 'failed',
      lease_owner: null,
      lease_until: null,
      last_error: reason.slice(0, 1000),
    })
    .where('id', '=', id)
    .execute()
}

/** Notifications, newest first. */
export async function listNotifications(
  db: Executor,
  filter: { status?: Notification['status']; limit?: number } = {},
): Promise<Notification[]> {
  let query = db
    .selectFrom('notifications')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
  if (filter.status) query = query.where('status', '=', filter.status)
  return (await query.execute()).map(notificationFromRow)
}

/**
 * The earliest instant a pending notification can be claimed, to sleep until it. A row leased to
 * another node counts from its lease's end; counting it as due now would poll in a busy loop.
 */
export async function nextNotificationDue(db: Executor): Promise<number | undefined> {
  const row = await db
    .selectFrom('notifications')
    .select((eb) =>
      eb.fn
        .min(
          eb
            .case()
            .when('lease_until', '>', eb.ref('next_attempt_at'))
            .then(eb.ref('lease_until'))
            .else(eb.ref('next_attempt_at'))
            .end(),
        )
        .as('due'),
    )
    .where('status', '=', 'pending')
    .executeTakeFirst()
  return row?.due === null || row?.due === undefined ? undefined : Number(row.due)
}
