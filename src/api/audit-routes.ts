import type { FastifyInstance } from 'fastify'
import { listAudit, type AuditFilter } from '../store/audit.js'
import {
  beforeSchema,
  limitSchema,
  pageOf,
  pageSchema,
  parseIdCursor,
  parseInstant,
} from './query.js'
import type { ApiDeps } from './server.js'

interface AuditQuery {
  actor?: string
  action?: string
  objectType?: string
  objectId?: string
  since?: string
  until?: string
  before?: string
  limit: number
  format?: 'json' | 'jsonl'
}

/** Rows read per query while streaming a JSON-lines export. */
const exportBatch = 1_000

/**
 * `GET /api/v1/audit`: the audit trail (admin), newest first with filters and a cursor, or the
 * whole filtered trail oldest first as JSON lines with `?format=jsonl`.
 */
export async function auditRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options

  app.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Audit trail, newest first (or all of it as JSON lines)',
        description:
          'Every change: config apply, monitor and incident changes, token create/revoke/use (use at most once a minute per token), logins and logouts, user changes. Filters combine; `format=jsonl` streams every matching event oldest first, one JSON object a line, ignoring `limit` and `before`.',
        tags: ['audit'],
        querystring: {
          type: 'object',
          properties: {
            actor: { type: 'string', description: '`user:<id>`, `token:<name>`, `system`, ...' },
            action: { type: 'string', description: '`monitor.update`, `session.login`, ...' },
            objectType: { type: 'string', description: 'monitor, incident, token, user, ...' },
            objectId: { type: 'string' },
            since: { type: 'string', description: 'ISO 8601 time or ms: events at or after it.' },
            until: { type: 'string', description: 'ISO 8601 time or ms: events before it.' },
            before: beforeSchema,
            limit: limitSchema,
            format: { type: 'string', enum: ['json', 'jsonl'], default: 'json' },
          },
        },
        response: { 200: pageSchema('A page of audit events.') },
      },
    },
    async (request, reply) => {
      const q = request.query
      const since = parseInstant(q.since, 'since')
      const until = parseInstant(q.until, 'until')
      const filter: AuditFilter = {
        ...(q.actor ? { actor: q.actor } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.objectType ? { objectType: q.objectType } : {}),
        ...(q.objectId ? { objectId: q.objectId } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      }
      if (q.format === 'jsonl') {
        const lines: string[] = []
        let afterId: number | undefined
        for (;;) {
          const rows = await listAudit(deps.db, {
            ...filter,
            order: 'asc',
            limit: exportBatch,
            ...(afterId !== undefined ? { afterId } : {}),
          })
          for (const row of rows) lines.push(JSON.stringify(row))
          if (rows.length < exportBatch) break
          afterId = rows[rows.length - 1]?.id
        }
        return reply
          .type('application/x-ndjson; charset=utf-8')
          .header('content-disposition', 'attachment; filename="keel-audit.jsonl"')
          .send(lines.map((l) => `${l}\n`).join(''))
      }
      const beforeId = parseIdCursor(q.before, 'before')
      const rows = await listAudit(deps.db, {
        ...filter,
        ...(beforeId !== undefined ? { beforeId } : {}),
        limit: q.limit + 1,
      })
      return pageOf(rows, q.limit, (last) => String(last.id))
    },
  )
}
