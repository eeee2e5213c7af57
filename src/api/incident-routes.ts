import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  incidentRoleNames,
  incidentSeverities,
  incidentStatuses,
  type IncidentSeverity,
  type IncidentStatus,
} from '../core/incidents/index.js'
import {
  acknowledgeIncident,
  addIncidentNote,
  getIncidentDetail,
  incidentPostmortem,
  listIncidentPage,
  mttaMttrReport,
  reassignIncident,
  reopenIncident,
  resolveIncident,
  setIncidentRoles,
  setIncidentSeverity,
} from '../services/incidents.js'
import { beforeSchema, limitSchema, pageSchema, parseIdCursor, parseInstant } from './query.js'
import type { ApiDeps } from './server.js'
import { errorSchema } from './error-schema.js'
import { serviceContext } from './service-context.js'

const tags = ['incidents']

const notFound = { description: 'No incident has this number.', ...errorSchema }
const conflict = {
  description:
    'The incident is in a state that does not allow this (acknowledging a resolved incident, resolving twice); the message says why.',
  ...errorSchema,
}

/** The JSON schema of an incident, for the OpenAPI document. */
export const incidentSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer', description: 'The incident number.' },
    title: { type: 'string' },
    severity: { type: 'string', enum: incidentSeverities },
    status: { type: 'string', enum: incidentStatuses },
    assignee: { type: 'string' },
    roles: {
      type: 'object',
      properties: Object.fromEntries(incidentRoleNames.map((r) => [r, { type: 'string' }])),
    },
    service: { type: 'string' },
    team: { type: 'string' },
    groupKey: { type: 'string', description: 'The alert grouping key; one open incident per key.' },
    createdAt: { type: 'integer', description: 'ms since the epoch' },
    acknowledgedAt: { type: 'integer', description: 'The first acknowledgement.' },
    resolvedAt: { type: 'integer' },
    ackTimeoutMs: { type: 'integer' },
    ackTimeoutAt: { type: 'integer', description: 'When the acknowledgement runs out.' },
    autoResolve: { type: 'boolean' },
  },
} as const

const incidentResponses = {
  200: { description: 'The incident after the change.', ...incidentSchema },
  404: notFound,
  409: conflict,
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'Incident number, e.g. 42.' } },
} as const

type IdRequest = FastifyRequest<{ Params: { id: string } }>

/** Incidents under `/api/v1`: list, detail, the response actions, postmortem and MTTA/MTTR. */
export async function incidentRoutes(app: FastifyInstance, options: { deps: ApiDeps }) {
  const { deps } = options

  app.get<{
    Querystring: {
      status?: IncidentStatus | 'open'
      service?: string
      team?: string
      severity?: IncidentSeverity
      before?: string
      limit: number
    }
  }>(
    '/incidents',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Incidents, newest first',
        tags,
        querystring: {
          type: 'object',
          properties: {
            status: {
              type: 'string',
              enum: [...incidentStatuses, 'open'],
              description: '`open` means triggered or acknowledged.',
            },
            service: { type: 'string' },
            team: { type: 'string' },
            severity: { type: 'string', enum: incidentSeverities },
            before: beforeSchema,
            limit: limitSchema,
          },
        },
        response: { 200: pageSchema('A page of incidents.', incidentSchema) },
      },
    },
    async (request) => {
      const { status, service, team, severity, limit } = request.query
      const beforeId = parseIdCursor(request.query.before, 'before')
      return listIncidentPage(deps, {
        ...(status ? { status } : {}),
        ...(service ? { service } : {}),
        ...(team ? { team } : {}),
        ...(severity ? { severity } : {}),
        ...(beforeId !== undefined ? { beforeId } : {}),
        limit,
      })
    },
  )

  app.get<{ Params: { id: string } }>(
    '/incidents/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One incident with its timeline and alerts',
        tags,
        params: idParams,
        response: {
          200: {
            description: 'The incident.',
            type: 'object',
            properties: {
              ...incidentSchema.properties,
              timeline: { type: 'array', items: { type: 'object' } },
              alerts: { type: 'array', items: { type: 'object' } },
            },
          },
          404: notFound,
        },
      },
    },
    async (request: IdRequest) => getIncidentDetail(deps, request.params.id),
  )

  app.get<{ Params: { id: string } }>(
    '/incidents/:id/postmortem',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'A markdown postmortem draft of the incident',
        tags,
        params: idParams,
        produces: ['text/markdown'],
        response: { 200: { description: 'Markdown.', type: 'string' }, 404: notFound },
      },
    },
    async (request: IdRequest, reply) => {
      const markdown = await incidentPostmortem(deps, request.params.id)
      return reply.type('text/markdown; charset=utf-8').send(markdown)
    },
  )

  // These actions need no body; an absent one validates as `{}`, so `curl -X POST` works.
  const optionalBody = async (request: FastifyRequest) => {
    request.body ??= {}
  }

  const reasonBody = {
    type: 'object',
    additionalProperties: false,
    properties: { reason: { type: 'string', description: 'Why; shown in the timeline.' } },
  } as const

  app.post<{ Params: { id: string } }>(
    '/incidents/:id/ack',
    {
      config: { role: 'responder' },
      schema: {
        summary: 'Acknowledge an incident',
        description:
          'Stops escalation; the incident re-triggers if not resolved within its ack timeout.',
        tags,
        params: idParams,
        response: incidentResponses,
      },
    },
    async (request: IdRequest) =>
      acknowledgeIncident(serviceContext(deps, request), request.params.id),
  )

  app.post<{ Params: { id: string }; Body: { reason?: string } }>(
    '/incidents/:id/resolve',
    {
      preValidation: optionalBody,
      config: { role: 'responder' },
      schema: {
        summary: 'Resolve an incident',
        tags,
        params: idParams,
        body: reasonBody,
        response: incidentResponses,
      },
    },
    async (request) =>
      resolveIncident(serviceContext(deps, request), request.params.id, request.body),
  )

  app.post<{ Params: { id: string }; Body: { reason?: string } }>(
    '/incidents/:id/reopen',
    {
      preValidation: optionalBody,
      // A responder who resolved an incident by mistake undoes it, as they acknowledge and resolve.
      config: { role: 'responder' },
      schema: {
        summary: 'Reopen a resolved incident',
        tags,
        params: idParams,
        body: reasonBody,
        response: incidentResponses,
      },
    },
    async (request) =>
      reopenIncident(serviceContext(deps, request), request.params.id, request.body),
  )

  app.post<{ Params: { id: string }; Body: { to?: string } }>(
    '/incidents/:id/reassign',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Assign an incident to someone',
        tags,
        params: idParams,
        body: {
          type: 'object',
          required: ['to'],
          additionalProperties: false,
          properties: { to: { type: 'string', description: 'Who takes it over.' } },
        },
        response: incidentResponses,
      },
    },
    async (request) =>
      reassignIncident(serviceContext(deps, request), request.params.id, request.body),
  )

  app.post<{ Params: { id: string }; Body: Record<string, string | null> }>(
    '/incidents/:id/roles',
    {
      preValidation: optionalBody,
      config: { role: 'operator' },
      schema: {
        summary: 'Set or clear response roles',
        description: 'Each named role is set to the person given, or cleared with null.',
        tags,
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: Object.fromEntries(
            incidentRoleNames.map((r) => [r, { type: ['string', 'null'] }]),
          ),
        },
        response: incidentResponses,
      },
    },
    async (request) =>
      setIncidentRoles(serviceContext(deps, request), request.params.id, request.body),
  )

  app.post<{ Params: { id: string }; Body: { text?: string; public?: boolean } }>(
    '/incidents/:id/notes',
    {
      config: { role: 'responder' },
      schema: {
        summary: 'Add a note to the timeline; with public: true the status page shows it too',
        tags,
        params: idParams,
        body: {
          type: 'object',
          required: ['text'],
          additionalProperties: false,
          properties: {
            text: { type: 'string' },
            public: {
              type: 'boolean',
              description:
                'Publish the note as an update of the incident on the public status page (its components must be public).',
            },
          },
        },
        response: incidentResponses,
      },
    },
    async (request) =>
      addIncidentNote(serviceContext(deps, request), request.params.id, request.body),
  )

  app.post<{ Params: { id: string }; Body: { severity?: string } }>(
    '/incidents/:id/severity',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Change the severity',
        tags,
        params: idParams,
        body: {
          type: 'object',
          required: ['severity'],
          additionalProperties: false,
          properties: { severity: { type: 'string', enum: incidentSeverities } },
        },
        response: incidentResponses,
      },
    },
    async (request) =>
      setIncidentSeverity(serviceContext(deps, request), request.params.id, request.body),
  )

  app.get<{ Querystring: { from?: string; to?: string; groupBy: 'service' | 'team' } }>(
    '/reports/mtta-mttr',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Mean time to acknowledge and to resolve, per service or team',
        description:
          'Over the incidents opened in [from, to): mean, p50 and p90 of the time to the first acknowledgement and to resolution.',
        tags: ['reports'],
        querystring: {
          type: 'object',
          properties: {
            from: { type: 'string', description: 'ISO 8601 or ms; default 30 days before `to`.' },
            to: { type: 'string', description: 'ISO 8601 or ms (exclusive); default now.' },
            groupBy: { type: 'string', enum: ['service', 'team'], default: 'service' },
          },
        },
        response: {
          200: { description: 'The report.', type: 'object', additionalProperties: true },
        },
      },
    },
    async (request) => {
      const from = parseInstant(request.query.from, 'from')
      const to = parseInstant(request.query.to, 'to')
      return mttaMttrReport(deps, {
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        groupBy: request.query.groupBy,
      })
    },
  )
}
