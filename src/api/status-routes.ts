import type { FastifyInstance } from 'fastify'
import { listMonitorViews, monitorCounts, type MonitorView } from '../services/monitors.js'
import { monitorViewSchema } from './monitor-routes.js'
import type { ApiDeps } from './server.js'

const maxProblems = 100

/** The states `/status` counts, always all present. */
const countedStates = ['up', 'down', 'degraded', 'pending', 'paused'] as const

/** What `GET /api/v1/status` answers. */
export interface StatusSummary {
  counts: Record<(typeof countedStates)[number], number>
  total: number
  problems: MonitorView[]
}

/** Counts by state and the monitors that need attention, down ones first. */
export async function statusSummary(deps: Pick<ApiDeps, 'db'>): Promise<StatusSummary> {
  const byState = await monitorCounts(deps)
  const counts = Object.fromEntries(
    countedStates.map((s) => [s, byState[s] ?? 0]),
  ) as StatusSummary['counts']
  const total = Object.values(byState).reduce((sum, n) => sum + n, 0)
  const problems: MonitorView[] = []
  for (const state of ['down', 'degraded'] as const) {
    const room = maxProblems - problems.length
    if (room <= 0) break
    problems.push(...(await listMonitorViews(deps, { state, limit: room })).items)
  }
  return { counts, total, problems }
}

/** The health probe (`/healthz`, public), the status summary and the Prometheus endpoint. */
export async function statusRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options

  app.route({
    method: ['GET', 'HEAD'],
    url: '/healthz',
    schema: {
      summary: 'Liveness probe',
      tags: ['status'],
      response: {
        200: {
          description: 'The process is serving requests.',
          type: 'object',
          properties: { status: { type: 'string', enum: ['ok'] } },
        },
      },
    },
    handler: async () => ({ status: 'ok' }),
  })

  app.get(
    '/api/v1/status',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Monitor counts by state and the current problems',
        tags: ['status'],
        response: {
          200: {
            description: 'Counts and up to 100 down or degraded monitors, down first.',
            type: 'object',
            properties: {
              counts: {
                type: 'object',
                properties: Object.fromEntries(countedStates.map((s) => [s, { type: 'integer' }])),
              },
              total: { type: 'integer' },
              problems: { type: 'array', items: monitorViewSchema },
            },
          },
        },
      },
    },
    async () => statusSummary(deps),
  )

  app.get(
    '/metrics',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        description:
          'Scrape with a bearer token: `authorization: { credentials: <token> }` in the scrape config.',
        tags: ['status'],
        response: {
          200: { description: 'Metrics in the Prometheus text format.', type: 'string' },
        },
      },
    },
    async (_request, reply) => {
      const { contentType, text } = await deps.metrics.scrape()
      return reply.type(contentType).send(text)
    },
  )
}
