import type { FastifyInstance, FastifyRequest } from 'fastify'
import { InputError } from '../core/errors.js'
import {
  approveRunbookRun,
  cancelRunbookRun,
  getRunbookDetail,
  getRunbookRunDetail,
  listRunbookRunPage,
  listRunbooks,
  resumeRunbookRun,
  runbooksForAlert,
  runbooksForMonitor,
  startRunbookRun,
  submitRunStep,
  type RunbookSettings,
  type RunOutputEvent,
} from '../services/runbooks.js'
import type { StoredRunbookRun } from '../store/runbooks.js'
import type { ApiDeps } from './server.js'
import { errorSchema } from './error-schema.js'
import { serviceContext } from './service-context.js'
import { getEntity } from '../store/catalog.js'

const tags = ['runbooks']

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', description: 'The runbook: its file name without .md.' } },
} as const

const runParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'The run id.' } },
} as const

const object = { type: 'object', additionalProperties: true } as const

/** Parses `label=name=value` query values into labels. */
function labelsFrom(value: string | string[] | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined
  const labels: Record<string, string> = {}
  for (const pair of [value].flat()) {
    const at = pair.indexOf('=')
    if (at <= 0) {
      throw new InputError(
        `query \`label\` must be name=value (e.g. label=alertname=DiskFull), got ${JSON.stringify(pair)}`,
      )
    }
    labels[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return labels
}

/** Runbooks and their runs under `/api/v1`, when the node has runbook settings. */
export async function runbookRoutes(
  app: FastifyInstance,
  options: { deps: ApiDeps; settings?: RunbookSettings },
) {
  const { deps, settings } = options
  const context = (request: FastifyRequest) => serviceContext(deps, request)
  // Automatic steps go on after the response; their failures are logged, the run row records them.
  const background = (request: FastifyRequest, settled: Promise<StoredRunbookRun>) => {
    settled.catch((error: unknown) => request.log.error({ err: error }, 'runbook run failed'))
  }

  app.get<{
    Querystring: { role?: string; entity?: string; label?: string | string[]; monitor?: string }
  }>(
    '/runbooks',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Runbooks, filtered by role, entity, alert labels or monitor',
        tags,
        querystring: {
          type: 'object',
          properties: {
            role: { type: 'string', description: 'A role in the front matter, e.g. dba.' },
            entity: { type: 'string', description: 'A catalog entity the runbook is about.' },
            label: {
              anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
              description:
                'Alert labels as name=value, repeatable: only runbooks whose `alerts` match them.',
            },
            monitor: {
              type: 'string',
              description:
                'A monitor id: only runbooks answering its alert, about its entity, or named by its `runbook` field; each lists why in `matchedBy` (`alert`, `entity`, `monitor`). 404 when no monitor has this id.',
            },
          },
        },
        response: {
          200: {
            description: 'The runbooks, and the files that failed to load.',
            type: 'object',
            properties: {
              runbooks: { type: 'array', items: object },
              issues: { type: 'array', items: object },
            },
          },
          404: { description: 'No monitor has the id `monitor` names.', ...errorSchema },
        },
      },
    },
    async (request) => {
      const { role, entity, monitor } = request.query
      const labels = labelsFrom(request.query.label)
      // The catalog knows the entity's kind, so a runbook written for every `database` matches.
      const kind = entity ? (await getEntity(deps.db, entity))?.kind : undefined
      const filter = {
        ...(role ? { role } : {}),
        ...(entity ? { entity } : {}),
        ...(kind ? { entityKind: kind } : {}),
        ...(labels ? { labels } : {}),
      }
      return monitor
        ? runbooksForMonitor(deps, settings, monitor, filter)
        : listRunbooks(settings, filter)
    },
  )

  app.get<{ Params: { fingerprint: string } }>(
    '/alerts/:fingerprint/runbooks',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The runbooks answering an alert (its response procedures)',
        tags,
        params: {
          type: 'object',
          required: ['fingerprint'],
          properties: { fingerprint: { type: 'string' } },
        },
        response: {
          200: { description: 'Matching runbooks.', type: 'array', items: object },
          404: { description: 'No alert has this fingerprint.', ...errorSchema },
        },
      },
    },
    async (request) => runbooksForAlert(deps, settings, request.params.fingerprint),
  )

  app.get<{ Params: { name: string } }>(
    '/runbooks/:name',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One runbook: its document as HTML and its parsed steps',
        tags,
        params: nameParams,
        response: {
          200: { description: 'The runbook.', ...object },
          400: { description: 'The runbook file has problems.', ...errorSchema },
          404: { description: 'No runbook has this name.', ...errorSchema },
        },
      },
    },
    async (request) => getRunbookDetail(settings, request.params.name),
  )

  app.get<{ Params: { name: string }; Querystring: { limit?: number } }>(
    '/runbooks/:name/runs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Runs of a runbook, newest first',
        tags,
        params: nameParams,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        },
        response: { 200: { description: 'Runs.', type: 'array', items: object } },
      },
    },
    async (request) => {
      const runs = await listRunbookRunPage(deps, {
        runbook: request.params.name,
        limit: request.query.limit ?? 50,
      })
      return runs.map(({ runbookSource: _source, ...run }) => run)
    },
  )

  app.post<{
    Params: { name: string }
    Body: { params?: Record<string, unknown>; dryRun?: boolean; incidentId?: number }
  }>(
    '/runbooks/:name/runs',
    {
      config: { role: 'responder' },
      schema: {
        summary: 'Start a run of a runbook, or show what it would run (dryRun)',
        description:
          "Needs the runbook's `runRole` (default responder) and a place on its allow-list, when it has one. A runbook with dangerous steps starts as `pendingApproval`. Parameters reach commands only as environment variables.",
        tags,
        params: nameParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            params: { type: 'object', additionalProperties: true },
            dryRun: { type: 'boolean' },
            incidentId: { type: 'integer', minimum: 1 },
          },
        },
        response: {
          200: { description: 'The dry-run plan: every step as it would run.', ...object },
          201: { description: 'The run, as stored when it started.', ...object },
          400: { description: 'Bad parameters or incident.', ...errorSchema },
          403: { description: 'Not allowed to run this runbook.', ...errorSchema },
          404: { description: 'No runbook has this name.', ...errorSchema },
        },
      },
      preValidation: async (request) => {
        request.body ??= {}
      },
    },
    async (request, reply) => {
      const result = await startRunbookRun(
        context(request),
        settings,
        request.params.name,
        request.body,
      )
      if (result.dryRun) return result.plan
      background(request, result.settled)
      const { runbookSource: _source, ...run } = result.run
      return reply.code(201).send(run)
    },
  )

  app.get<{ Params: { id: string } }>(
    '/runbook-runs/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One run: its state, the steps it took with their outputs, and its current step',
        tags,
        params: runParams,
        response: {
          200: { description: 'The run.', ...object },
          404: { description: 'No run has this id.', ...errorSchema },
        },
      },
    },
    async (request) => getRunbookRunDetail(deps, request.params.id),
  )

  app.post<{ Params: { id: string } }>(
    '/runbook-runs/:id/approve',
    {
      config: { role: 'responder' },
      schema: {
        summary: 'Approve a run that waits for approval (a second person)',
        description:
          "The approver must not be the requester and needs the runbook's `approveRole` (default operator).",
        tags,
        params: runParams,
        response: {
          200: { description: 'The run, now running.', ...object },
          403: { description: 'The requester, or a role too weak.', ...errorSchema },
          404: { description: 'No run has this id.', ...errorSchema },
          409: { description: 'The run is not waiting for approval.', ...errorSchema },
        },
      },
    },
    async (request) => {
      const { run, settled } = await approveRunbookRun(
        context(request),
        settings,
        request.params.id,
      )
      background(request, settled)
      const { runbookSource: _source, ...rest } = run
      return rest
    },
  )

  app.post<{ Params: { id: string; step: string }; Body: { note?: string; answer?: string } }>(
    '/runbook-runs/:id/steps/:step',
    {
      config: { role: 'responder' },
      schema: {
        summary: "Complete the run's current step: tick it (with a note) or answer its question",
        tags,
        params: {
          type: 'object',
          required: ['id', 'step'],
          properties: { id: { type: 'string' }, step: { type: 'string' } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            note: { type: 'string', maxLength: 10000 },
            answer: {
              anyOf: [{ type: 'string' }, { type: 'integer' }],
              description: 'A decision step: the answer label or its number (1-based).',
            },
          },
        },
        response: {
          200: { description: 'The run after the step.', ...object },
          409: { description: 'Not the current step, or the wrong kind of input.', ...errorSchema },
        },
      },
      preValidation: async (request) => {
        request.body ??= {}
      },
    },
    async (request) => {
      const { run, settled } = await submitRunStep(
        context(request),
        settings,
        request.params.id,
        request.params.step,
        request.body,
      )
      background(request, settled)
      const { runbookSource: _source, ...rest } = run
      return rest
    },
  )

  app.post<{ Params: { id: string }; Body: { reason?: string } }>(
    '/runbook-runs/:id/cancel',
    {
      config: { role: 'responder' },
      schema: {
        summary: 'Cancel a run that has not finished',
        tags,
        params: runParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', maxLength: 2000 } },
        },
        response: { 200: { description: 'The cancelled run.', ...object } },
      },
      preValidation: async (request) => {
        request.body ??= {}
      },
    },
    async (request) => {
      const { runbookSource: _source, ...run } = await cancelRunbookRun(
        context(request),
        request.params.id,
        request.body.reason,
        settings,
      )
      return run
    },
  )

  app.post<{ Params: { id: string }; Body: { from?: 'next' | 'retry' } }>(
    '/runbook-runs/:id/resume',
    {
      config: { role: 'responder' },
      schema: {
        summary: 'Resume a run its node left interrupted: from the next step, or retry the step',
        description:
          "A run is `interrupted` when the node executing one of its steps died (its lease ran out, or it restarted): the step keeps the output it had and its leftover process group is killed. Resuming needs what running the runbook needs (the runbook's `runRole` and allow-list).",
        tags,
        params: runParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: {
              type: 'string',
              enum: ['next', 'retry'],
              description:
                '`next` (default): go on with the step after the interrupted one; `retry`: run the interrupted step again.',
            },
          },
        },
        response: {
          200: { description: 'The run, running again.', ...object },
          403: { description: 'Not allowed to run this runbook.', ...errorSchema },
          404: { description: 'No run has this id.', ...errorSchema },
          409: { description: 'The run is not interrupted.', ...errorSchema },
        },
      },
      preValidation: async (request) => {
        request.body ??= {}
      },
    },
    async (request) => {
      const { run, settled } = await resumeRunbookRun(
        context(request),
        settings,
        request.params.id,
        request.body,
      )
      background(request, settled)
      const { runbookSource: _source, ...rest } = run
      return rest
    },
  )

  app.get<{ Params: { id: string } }>(
    '/runbook-runs/:id/output',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Live output of a run (Server-Sent Events)',
        description:
          'A `text/event-stream`: first `event: snapshot` with the run (steps and stored outputs), then `output` ({ step, chunk }), `step` and `state` events as they happen; the stream ends with `event: end` when the run finishes. Output is live only from the node executing the run; the snapshot always has what is stored.',
        tags,
        params: runParams,
        response: { 200: { description: 'The event stream.', type: 'string' } },
      },
    },
    async (request, reply) => {
      const detail = await getRunbookRunDetail(deps, request.params.id)
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      })
      const send = (event: string, data: unknown) =>
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
      send('snapshot', detail)
      const finished = ['succeeded', 'failed', 'cancelled'].includes(detail.status)
      if (finished || settings === undefined) {
        send('end', { status: detail.status })
        res.end()
        return
      }
      const partial = settings.hub.partial(detail.id)
      if (partial) send('output', { step: partial.step, chunk: partial.text })
      const unsubscribe = settings.hub.subscribe(detail.id, (event: RunOutputEvent) => {
        const { type, runId: _runId, ...data } = event
        send(type, data)
        if (
          event.type === 'state' &&
          ['succeeded', 'failed', 'cancelled'].includes(event.state.status)
        ) {
          send('end', { status: event.state.status })
          res.end()
        }
      })
      res.once('close', unsubscribe)
    },
  )
}
