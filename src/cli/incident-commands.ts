import { Option, type Command } from 'commander'
import { InputError } from '../core/errors.js'
import {
  incidentSeverities,
  incidentStatuses,
  type DurationStats,
  type Incident,
  type IncidentMetricsGroupBy,
  type IncidentSeverity,
  type IncidentStatus,
} from '../core/incidents/index.js'
import { formatDuration, parseDuration, type Clock } from '../core/time.js'
import type { ServiceContext } from '../services/context.js'
import {
  acknowledgeIncident,
  addIncidentNote,
  getIncidentDetail,
  listIncidentPage,
  mttaMttrReport,
  resolveIncident,
} from '../services/incidents.js'
import type { Store } from '../store/dialect.js'
import { formatAgo, formatTable } from './format.js'

/** What the incident commands borrow from `main.ts`. */
export interface IncidentCommandDeps {
  configOption(): Option
  withStore<T>(configPath: string, fn: (store: Store) => Promise<T>): Promise<T>
  out(text: string): void
  clock: Clock
}

function utc(at: number | undefined): string {
  if (at === undefined) return '-'
  return new Date(at)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z')
}

/**
 * An instant from the command line: ISO 8601, milliseconds since the epoch, or a duration that
 * far back from now (`7d`).
 */
export function parseCliInstant(value: string, option: string, now: number): number {
  if (/^\d{10,}$/.test(value)) return Number(value)
  const ago = parseDuration(value)
  if (ago !== undefined) return now - ago
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) {
    throw new InputError(
      `${option} must be an ISO 8601 time (2024-05-01T12:00:00Z), milliseconds, or a duration back from now (7d), got ${JSON.stringify(value)}`,
    )
  }
  return ms
}

function stats(value: DurationStats | undefined): string[] {
  if (!value) return ['-', '-', '-']
  return [value.meanMs, value.p50Ms, value.p90Ms].map((ms) => formatDuration(ms))
}

function shortIncident(incident: Incident): string {
  return `#${incident.id} ${incident.title}`
}

/** `keel incident list|show|ack|resolve|note` and `keel report mtta-mttr`, on the store of `--config`. */
export function addIncidentCommands(program: Command, deps: IncidentCommandDeps): void {
  const { out, withStore, configOption, clock } = deps
  const context = (store: Store): ServiceContext => ({
    db: store.db,
    clock,
    actor: { name: `cli:${process.env.USER ?? 'unknown'}`, role: 'admin' },
  })

  const incident = program.command('incident').description('incidents: list, show, respond')

  incident
    .command('list')
    .description('incidents, newest first (open ones unless --status says otherwise)')
    .addOption(
      new Option('--status <status>', 'which incidents')
        .choices([...incidentStatuses, 'open', 'all'])
        .default('open'),
    )
    .option('--service <service>', 'only this service')
    .option('--team <team>', 'only this team')
    .addOption(
      new Option('--severity <severity>', 'only this severity').choices(incidentSeverities),
    )
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .addOption(configOption())
    .action(
      async (options: {
        status: IncidentStatus | 'open' | 'all'
        service?: string
        team?: string
        severity?: IncidentSeverity
        limit: string
        json?: boolean
        config: string
      }) => {
        const limit = Number(options.limit)
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
          throw new InputError(
            `--limit must be a whole number from 1 to 1000, got ${options.limit}`,
          )
        }
        await withStore(options.config, async (store) => {
          const page = await listIncidentPage(context(store), {
            ...(options.status !== 'all' ? { status: options.status } : {}),
            ...(options.service ? { service: options.service } : {}),
            ...(options.team ? { team: options.team } : {}),
            ...(options.severity ? { severity: options.severity } : {}),
            limit,
          })
          if (options.json) {
            out(JSON.stringify(page.items, null, 2))
            return
          }
          const which = options.status === 'all' ? '' : ` ${options.status}`
          if (page.items.length === 0) {
            out(`No${which} incidents.`)
            return
          }
          const now = clock.now()
          out(
            formatTable(
              ['ID', 'STATUS', 'SEVERITY', 'SERVICE', 'ASSIGNEE', 'OPENED', 'TITLE'],
              page.items.map((i) => [
                `#${i.id}`,
                i.status.toUpperCase(),
                i.severity,
                i.service ?? '-',
                i.assignee ?? '-',
                formatAgo(i.createdAt, now),
                i.title.slice(0, 70),
              ]),
            ),
          )
          out(
            `\n${page.items.length}${which} incident${page.items.length === 1 ? '' : 's'}${page.next ? ` (more: --limit ${limit * 2})` : ''}`,
          )
        })
      },
    )

  incident
    .command('show')
    .description('one incident with its timeline and alerts')
    .argument('<id>', 'incident number, e.g. 42')
    .option('--json', 'print JSON')
    .addOption(configOption())
    .action(async (id: string, options: { json?: boolean; config: string }) => {
      await withStore(options.config, async (store) => {
        const detail = await getIncidentDetail(context(store), id)
        if (options.json) {
          out(JSON.stringify(detail, null, 2))
          return
        }
        const roles = Object.entries(detail.roles).map(([role, who]) => `${role} ${who}`)
        const lines = [
          shortIncident(detail),
          `  status:       ${detail.status.toUpperCase()}`,
          `  severity:     ${detail.severity}`,
          `  service:      ${detail.service ?? '-'}${detail.team ? ` (team ${detail.team})` : ''}`,
          `  assignee:     ${detail.assignee ?? '-'}`,
          ...(roles.length > 0 ? [`  roles:        ${roles.join(', ')}`] : []),
          `  opened:       ${utc(detail.createdAt)}`,
          `  acknowledged: ${utc(detail.acknowledgedAt)}`,
          `  resolved:     ${utc(detail.resolvedAt)}`,
          ...(detail.ackTimeoutAt !== undefined
            ? [`  ack expires:  ${utc(detail.ackTimeoutAt)} (then it re-triggers)`]
            : []),
          '',
          'Timeline (UTC):',
          formatTable(
            ['TIME', 'WHO', 'EVENT'],
            detail.timeline.map((e) => [utc(e.at), e.by ?? 'keel', e.text]),
          ),
          '',
          `Alerts (${detail.alerts.length}):`,
          formatTable(
            ['STATUS', 'STARTED', 'ALERT'],
            detail.alerts.map((a) => [
              a.status.toUpperCase(),
              utc(a.startsAt),
              a.annotations.summary ?? a.labels.alertname ?? a.fingerprint,
            ]),
          ),
        ]
        out(lines.join('\n'))
      })
    })

  incident
    .command('ack')
    .description('acknowledge an incident (stops escalation)')
    .argument('<id>', 'incident number')
    .addOption(configOption())
    .action(async (id: string, options: { config: string }) => {
      await withStore(options.config, async (store) => {
        const acked = await acknowledgeIncident(context(store), id)
        out(`Incident ${shortIncident(acked)} acknowledged; assigned to ${acked.assignee ?? '-'}.`)
      })
    })

  incident
    .command('resolve')
    .description('resolve an incident')
    .argument('<id>', 'incident number')
    .option('--reason <text>', 'why, for the timeline')
    .addOption(configOption())
    .action(async (id: string, options: { reason?: string; config: string }) => {
      await withStore(options.config, async (store) => {
        const resolved = await resolveIncident(
          context(store),
          id,
          options.reason !== undefined ? { reason: options.reason } : {},
        )
        out(`Incident ${shortIncident(resolved)} resolved.`)
      })
    })

  incident
    .command('note')
    .description("add a note to an incident's timeline")
    .argument('<id>', 'incident number')
    .argument('<text...>', 'the note')
    .option('--public', 'also publish it as an update on the public status page')
    .addOption(configOption())
    .action(async (id: string, words: string[], options: { config: string; public?: boolean }) => {
      await withStore(options.config, async (store) => {
        const published = options.public === true
        const noted = await addIncidentNote(context(store), id, {
          text: words.join(' '),
          ...(published ? { public: true } : {}),
        })
        out(
          published
            ? `Update published on the status page for incident ${shortIncident(noted)}.`
            : `Note added to incident ${shortIncident(noted)}.`,
        )
      })
    })

  const report = program.command('report').description('reports over incidents')
  report
    .command('mtta-mttr')
    .description('mean time to acknowledge and to resolve, per service or team')
    .option('--from <time>', 'start: ISO 8601, ms, or a duration back from now (default 30d)')
    .option('--to <time>', 'end, exclusive (default now)')
    .addOption(
      new Option('--group-by <field>', 'group by').choices(['service', 'team']).default('service'),
    )
    .option('--json', 'print JSON')
    .addOption(configOption())
    .action(
      async (options: {
        from?: string
        to?: string
        groupBy: IncidentMetricsGroupBy
        json?: boolean
        config: string
      }) => {
        const now = clock.now()
        const to = options.to !== undefined ? parseCliInstant(options.to, '--to', now) : undefined
        const from =
          options.from !== undefined ? parseCliInstant(options.from, '--from', now) : undefined
        await withStore(options.config, async (store) => {
          const metrics = await mttaMttrReport(context(store), {
            ...(from !== undefined ? { from } : {}),
            ...(to !== undefined ? { to } : {}),
            groupBy: options.groupBy,
          })
          if (options.json) {
            out(JSON.stringify(metrics, null, 2))
            return
          }
          out(`Incidents opened ${utc(metrics.from)} to ${utc(metrics.to)}, by ${metrics.groupBy}:`)
          out(
            formatTable(
              [
                metrics.groupBy.toUpperCase(),
                'INCIDENTS',
                'ACKED',
                'MTTA',
                'P50',
                'P90',
                'RESOLVED',
                'MTTR',
                'P50',
                'P90',
              ],
              [...metrics.groups, metrics.overall].map((g) => [
                g.group,
                String(g.incidents),
                String(g.acknowledged),
                ...stats(g.mtta),
                String(g.resolved),
                ...stats(g.mttr),
              ]),
            ),
          )
        })
      },
    )
}
