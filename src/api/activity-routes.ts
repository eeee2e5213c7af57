import type { FastifyInstance } from 'fastify'
import { listAlerts } from '../store/alerts.js'
import { listNotifications, type Notification } from '../store/notifications.js'
import { beforeSchema, limitSchema, pageOf, pageSchema, parseIdCursor } from './query.js'
import type { ApiDeps } from './server.js'

/** Read-only lists under `/api/v1`: alerts and the notification outbox. */
export async function activityRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options

  app.get<{ Querystring: { status?: 'firing' | 'resolved'; before?: string; limit: number } }>(
    '/alerts',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Alerts, newest first',
        tags: ['alerts'],
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['firing', 'resolved'] },
            before: beforeSchema,
            limit: limitSchema,
          },
        },
        response: { 200: pageSchema('A page of alerts.') },
      },
    },
    async (request) => {
      const { status, limit } = request.query
      const beforeId = parseIdCursor(request.query.before, 'before')
      const rows = await listAlerts(deps.db, {
        ...(status ? { status } : {}),
        ...(beforeId !== undefined ? { beforeId } : {}),
        limit: limit + 1,
      })
      return pageOf(rows, limit, (last) => String(last.id))
    },
  )

  app.get<{ Querystring: { status?: Notification['status']; limit: number } }>(
    '/notifications',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Notification outbox, newest first',
        description:
          'The latest `limit` messages; older pages are not available yet. Messages are shown without their signed one-click links, which are credentials: `linkGrant` says which links the dispatcher signs into the message as it sends it (incident, recipient, actions).',
        tags: ['notifications'],
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
            limit: limitSchema,
          },
        },
        response: { 200: pageSchema('The latest notifications.') },
      },
    },
    async (request) => {
      const { status, limit } = request.query
      const rows = await listNotifications(deps.db, { ...(status ? { status } : {}), limit })
      return { items: rows }
    },
  )
  // The audit trail is served by audit-routes.ts (filters and JSON-lines export).
}
