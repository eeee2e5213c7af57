import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { originOf } from '../checks/command-policy.js'
import { parseMonitorSpec, runCheck } from '../checks/registry.js'
import { ConflictError, InputError, NotFoundError } from '../core/errors.js'
import type { MonitorState } from '../core/checks/index.js'
import {
  createMonitor,
  deleteMonitor,
  getMonitorView,
  listMonitorViews,
  requireCheckNowAccess,
  setMonitorPaused,
  updateMonitor,
} from '../services/monitors.js'
import { getMonitor, type StoredMonitor } from '../store/monitors.js'
import { listPings, listResults, listStateChanges } from '../store/results.js'
import { bucketMs, listRollups, type Resolution } from '../store/rollups.js'
import {
  beforeSchema,
  limitSchema,
  pageOf,
  pageSchema,
  parseInstant,
  parseLabelFilter,
} from './query.js'
import type { ApiDeps } from './server.js'
import { errorSchema } from './error-schema.js'
import { serviceContext } from './service-context.js'

const tags = ['monitors']

const monitorStates = ['pending', 'up', 'down', 'degraded', 'paused'] as const

/** The JSON schema of a monitor view, for the OpenAPI document. */
export const monitorViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    name: { type: 'string' },
    state: { type: 'string', enum: monitorStates },
    stateSince: { type: 'integer', description: 'ms since the epoch' },
    flapping: { type: 'boolean' },
    paused: { type: 'boolean' },
    lastCheckedAt: { type: 'integer' },
    lastStatus: { type: 'string', enum: ['up', 'down', 'degraded'] },
    lastLatencyMs: { type: 'number' },
    lastMessage: { type: 'string' },
    nextDueAt: { type: 'integer' },
    source: { type: 'string', description: '`api`, or `file:<path>` when a keel.yaml owns it' },
    managedByConfig: { type: 'boolean' },
    spec: { type: 'object', additionalProperties: true, description: 'Secrets are redacted.' },
    pingPath: { type: 'string', description: 'Heartbeat monitors: where to send pings.' },
    createdAt: { type: 'integer' },
    updatedAt: { type: 'integer' },
    version: { type: 'integer' },
    rules: {
      type: 'object',
      description:
        'Get one monitor only: what makes it down or degraded, in words, for people (not a stable format to parse).',
      properties: {
        expectations: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              text: { type: 'string', description: 'What each check requires.' },
              otherwise: {
                type: 'string',
                enum: ['down', 'degraded'],
                description: 'The state of a check that does not meet it.',
              },
              source: {
                type: 'string',
                enum: ['probe', 'condition'],
                description: '`condition`: one of the spec’s `conditions`, as written.',
              },
            },
          },
        },
        downAfter: {
          type: 'integer',
          description: 'Failing checks in a row before the monitor is down or degraded.',
        },
        upAfter: {
          type: 'integer',
          description: 'Passing checks in a row before it is up again.',
        },
      },
    },
    uptime: {
      type: 'object',
      description:
        'Listing with `uptime=true` only. Uptime is the share of checks not down (degraded counts as up); absent when no check ran.',
      properties: {
        last24h: { type: 'number', minimum: 0, maximum: 1 },
        last30d: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          description: 'The 30 UTC days up to now.',
        },
        hours: {
          type: 'array',
          description: 'The 24 hours up to now, the current one included, oldest first.',
          items: {
            type: 'object',
            properties: {
              start: { type: 'integer', description: 'ms since the epoch' },
              count: { type: 'integer', description: 'Checks in the hour; 0 when none ran.' },
              failures: { type: 'integer', description: 'Checks that were down.' },
            },
          },
        },
      },
    },
  },
} as const

const specBodySchema = {
  type: 'object',
  required: ['type'],
  additionalProperties: true,
  description: 'A monitor spec as in keel.yaml: `type`, the common fields and the type’s own.',
  properties: {
    type: { type: 'string', description: 'Probe type: http, tcp, dns, heartbeat, ...' },
    name: { type: 'string' },
    interval: {
      anyOf: [{ type: 'string' }, { type: 'number' }],
      description: 'Duration (`30s`) or seconds.',
    },
    timeout: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    retries: { type: 'integer' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    paused: { type: 'boolean' },
  },
} as const

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'Monitor id (slug).' } },
} as const

const notFound = { description: 'No monitor has this id.', ...errorSchema }

type IdRequest = FastifyRequest<{ Params: { id: string } }>

async function storedMonitor(deps: ApiDeps, id: string): Promise<StoredMonitor> {
  const row = await getMonitor(deps.db, id)
  if (!row) throw new NotFoundError(`monitor ${id} does not exist`)
  return row
}

/** An AbortSignal that fires when the client goes away before the response is sent. */
function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client closed the request'))
  })
  return controller.signal
}

const defaultWindowMs: Record<Resolution, number> = {
  m: 6 * 3_600_000,
  h: 7 * 86_400_000,
  d: 90 * 86_400_000,
}

const maxBuckets = 10_000

/** Routes under `/api/v1/monitors`: CRUD, pause/resume, check now, and each monitor's history. */
export async function monitorRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options
  const changed = () => deps.onChange?.('monitors')

  app.get<{
    Querystring: {
      type?: string
      state?: MonitorState
      label?: string[]
      after?: string
      limit: number
      uptime?: boolean
    }
  }>(
    '/monitors',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'List monitors',
        tags,
        querystring: {
          type: 'object',
          properties: {
            type: { type: 'string', description: 'Only monitors of this probe type.' },
            state: { type: 'string', enum: monitorStates },
            label: {
              type: 'array',
              items: { type: 'string' },
              description: 'key:value; repeat to require several labels.',
            },
            after: { type: 'string', description: 'Cursor: the `next` of the previous page.' },
            limit: limitSchema,
            uptime: {
              type: 'boolean',
              default: false,
              description:
                'Add each monitor’s `uptime` over the last 24 hours (per hour) and 30 days, from the roll-ups.',
            },
          },
        },
        response: { 200: pageSchema('A page of monitors ordered by id.', monitorViewSchema) },
      },
    },
    async (request) => {
      const q = request.query
      return listMonitorViews(deps, {
        ...(q.type ? { type: q.type } : {}),
        ...(q.state ? { state: q.state } : {}),
        ...(q.after ? { after: q.after } : {}),
        label: parseLabelFilter(q.label),
        limit: q.limit,
        ...(q.uptime ? { uptimeAt: deps.clock.now() } : {}),
      })
    },
  )

  app.post<{ Body: { id: string } & Record<string, unknown> }>(
    '/monitors',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Create a monitor',
        description:
          'A monitor that runs a program (`command`) is accepted only for an executable inside a directory keel.yaml lists under `checks.commandDirs`, without loader or interpreter variables in `env` and without `cwd` (400 otherwise, for every role).',
        tags,
        body: {
          ...specBodySchema,
          required: ['id', 'type'],
          properties: {
            id: { type: 'string', description: 'The new monitor’s id (slug).' },
            ...specBodySchema.properties,
          },
        },
        response: {
          201: { description: 'The monitor was created.', ...monitorViewSchema },
          400: { description: 'The spec is invalid; details list every field.', ...errorSchema },
          409: { description: 'A monitor with this id exists.', ...errorSchema },
        },
      },
    },
    async (request, reply) => {
      const { id, ...spec } = request.body
      const view = await createMonitor(serviceContext(deps, request), id, spec, deps.commands)
      changed()
      return reply.code(201).send(view)
    },
  )

  app.get<{ Params: { id: string } }>(
    '/monitors/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Get one monitor',
        tags,
        params: idParams,
        response: { 200: { description: 'The monitor.', ...monitorViewSchema }, 404: notFound },
      },
    },
    async (request) => getMonitorView(deps, request.params.id),
  )

  app.put<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/monitors/:id',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Replace a monitor’s spec',
        description:
          'Monitors owned by a keel.yaml (source `file:…`) are refused with 409. A spec that runs a program follows the rule of POST /api/v1/monitors.',
        tags,
        params: idParams,
        body: specBodySchema,
        response: {
          200: { description: 'The updated monitor.', ...monitorViewSchema },
          404: notFound,
          409: { description: 'The monitor is managed by a config file.', ...errorSchema },
        },
      },
    },
    async (request) => {
      const { id } = request.params
      const { id: bodyId, ...spec } = request.body
      if (bodyId !== undefined && bodyId !== id) {
        throw new InputError(
          `monitor ${id}: body field id is ${JSON.stringify(bodyId)} but the URL names ${id}; drop id from the body (to rename, create the new id and delete the old one)`,
          { details: [{ path: 'id', message: 'does not match the URL' }] },
        )
      }
      const view = await updateMonitor(serviceContext(deps, request), id, spec, deps.commands)
      changed()
      return view
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/monitors/:id',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Delete a monitor and its history',
        tags,
        params: idParams,
        response: {
          204: { description: 'Deleted.', type: 'null' },
          404: notFound,
          409: { description: 'The monitor is managed by a config file.', ...errorSchema },
        },
      },
    },
    async (request, reply) => {
      await deleteMonitor(serviceContext(deps, request), request.params.id)
      changed()
      return reply.code(204).send()
    },
  )

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post<{ Params: { id: string } }>(
      `/monitors/:id/${action}`,
      {
        config: { role: 'responder' },
        schema: {
          summary: paused ? 'Pause a monitor' : 'Resume a paused monitor',
          tags,
          params: idParams,
          response: { 200: { description: 'The monitor.', ...monitorViewSchema }, 404: notFound },
        },
      },
      async (request: IdRequest) => {
        const view = await setMonitorPaused(
          serviceContext(deps, request),
          request.params.id,
          paused,
        )
        changed()
        return view
      },
    )
  }

  app.post<{ Params: { id: string } }>(
    '/monitors/:id/check',
    {
      config: { role: 'responder' },
      schema: {
        summary: 'Run the monitor’s probe now',
        description:
          'The outcome is returned, not recorded: state, history and alerts are untouched. A monitor created through the API whose program keel.yaml no longer allows (`checks.commandDirs`) is `down` without running.',
        tags,
        params: idParams,
        response: {
          200: {
            description: 'What the probe observed.',
            type: 'object',
            properties: {
              monitor: { type: 'string' },
              checkedAt: { type: 'integer' },
              status: { type: 'string', enum: ['up', 'down', 'degraded'] },
              latencyMs: { type: 'number' },
              message: { type: 'string' },
              metrics: { type: 'array', items: { type: 'object' } },
            },
          },
          404: notFound,
          409: { description: 'The monitor cannot be probed on demand.', ...errorSchema },
        },
      },
    },
    async (request, reply) => {
      const row = await storedMonitor(deps, request.params.id)
      requireCheckNowAccess(serviceContext(deps, request), row)
      if (row.type === 'heartbeat') {
        throw new ConflictError(
          `monitor ${row.slug} is a heartbeat monitor: its pings update it and there is nothing to probe; send a ping to its pingPath instead`,
        )
      }
      const parsed = parseMonitorSpec(row.spec)
      if (!parsed.ok) {
        const lines = parsed.issues.map((i) => `${i.path || '(spec)'}: ${i.message}`)
        throw new ConflictError(
          `monitor ${row.slug}: its stored spec no longer validates (${lines.join('; ')}); fix the spec first`,
          { details: parsed.issues },
        )
      }
      const checkedAt = deps.clock.now()
      // A monitor from the API runs its program only while keel.yaml still allows it.
      const outcome = await runCheck(parsed.spec, {
        signal: clientGone(reply),
        origin: originOf(row.source, deps.commands),
      })
      return { monitor: row.slug, checkedAt, ...outcome }
    },
  )

  app.get<{ Params: { id: string }; Querystring: { before?: string; limit: number } }>(
    '/monitors/:id/results',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Raw check results, newest first',
        tags,
        params: idParams,
        querystring: {
          type: 'object',
          properties: {
            before: { ...beforeSchema, description: 'Only results checked before this time.' },
            limit: limitSchema,
          },
        },
        response: { 200: pageSchema('A page of results.'), 404: notFound },
      },
    },
    async (request) => {
      const row = await storedMonitor(deps, request.params.id)
      const before = parseInstant(request.query.before, 'before')
      const { limit } = request.query
      const rows = await listResults(deps.db, row.id, {
        ...(before !== undefined ? { before } : {}),
        limit: limit + 1,
      })
      const items = rows.map(({ id: _id, monitorId: _monitor, ...result }) => result)
      return pageOf(items, limit, (last) => String(last.checkedAt))
    },
  )

  app.get<{ Params: { id: string }; Querystring: { before?: string; limit: number } }>(
    '/monitors/:id/history',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Confirmed state changes, newest first',
        tags,
        params: idParams,
        querystring: {
          type: 'object',
          properties: {
            before: { ...beforeSchema, description: 'Only changes before this time.' },
            limit: limitSchema,
          },
        },
        response: { 200: pageSchema('A page of state changes.'), 404: notFound },
      },
    },
    async (request) => {
      const row = await storedMonitor(deps, request.params.id)
      const before = parseInstant(request.query.before, 'before')
      const { limit } = request.query
      const rows = await listStateChanges(deps.db, row.id, {
        ...(before !== undefined ? { before } : {}),
        limit: limit + 1,
      })
      const items = rows.map(({ id: _id, monitorId: _monitor, ...change }) => change)
      return pageOf(items, limit, (last) => String(last.at))
    },
  )

  app.get<{
    Params: { id: string }
    Querystring: { resolution: Resolution; from?: string; to?: string }
  }>(
    '/monitors/:id/rollups',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Aggregated results per minute, hour or day',
        tags,
        params: idParams,
        querystring: {
          type: 'object',
          properties: {
            resolution: { type: 'string', enum: ['m', 'h', 'd'], default: 'h' },
            from: { type: 'string', description: 'ISO 8601 or ms; default depends on resolution.' },
            to: { type: 'string', description: 'ISO 8601 or ms (exclusive); default now.' },
          },
        },
        response: { 200: pageSchema('Buckets in time order.'), 404: notFound },
      },
    },
    async (request) => {
      const row = await storedMonitor(deps, request.params.id)
      const { resolution } = request.query
      const to = parseInstant(request.query.to, 'to') ?? deps.clock.now()
      const from = parseInstant(request.query.from, 'from') ?? to - defaultWindowMs[resolution]
      if (from >= to) {
        throw new InputError(`from must be before to; got from=${from}, to=${to}`, {
          details: [{ path: 'from', message: 'must be before to' }],
        })
      }
      const buckets = Math.ceil((to - from) / bucketMs[resolution])
      if (buckets > maxBuckets) {
        throw new InputError(
          `from..to spans ${buckets} buckets of resolution ${resolution}, at most ${maxBuckets}; narrow the range or use a coarser resolution`,
          { details: [{ path: 'from', message: 'range too wide' }] },
        )
      }
      const rows = await listRollups(deps.db, resolution, from, to, row.id)
      return { items: rows.map(({ monitorId: _monitor, ...bucket }) => bucket) }
    },
  )

  app.get<{ Params: { id: string }; Querystring: { limit: number } }>(
    '/monitors/:id/pings',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Heartbeat pings received, newest first',
        tags,
        params: idParams,
        querystring: { type: 'object', properties: { limit: limitSchema } },
        response: { 200: pageSchema('The latest pings.'), 404: notFound },
      },
    },
    async (request) => {
      const row = await storedMonitor(deps, request.params.id)
      const rows = await listPings(deps.db, row.id, request.query.limit)
      return { items: rows.map(({ monitorId: _monitor, ...ping }) => ping) }
    },
  )
}
