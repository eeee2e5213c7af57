import type { Logger } from 'pino'
import { receiversFor } from '../core/alerts/index.js'
import type { Clock } from '../core/time.js'
import type { Db } from '../store/dialect.js'
import { listIncidentAlerts, listIncidents } from '../store/incidents.js'
import { getMeta, setMeta, tryAcquireJobLease } from '../store/meta.js'
import { readAlertingConfig } from './alerting.js'
import { startAutoRemediation, type RunbookSettings } from './runbooks.js'

const cursorKey = 'auto-remediation:last-incident'

/** One auto-remediation the job tried: which incident, runbook and route, and what came of it. */
export interface AutoRemediationAttempt {
  incidentId: number
  runbook: string
  route: string
  started: boolean
  reason?: string
  runId?: string
}

/**
 * Starts the runbooks that routing-tree receivers name (`alerting.receivers.<id>.runbook`) for
 * incidents opened since the last pass, once per incident and receiver. One node runs it at a
 * time (a job lease); the incident cursor is stored, so a restart neither skips nor repeats an
 * incident. On the first pass the cursor starts at the newest incident: incidents that opened
 * before auto-remediation was configured are not remediated after the fact. The runbook's own
 * guard (opt-in `autoRun.enabled`, `maxRunsPerHour`, approval of dangerous steps) still applies.
 */
export async function runAutoRemediations(
  deps: { db: Db; clock: Clock; log: Logger },
  settings: RunbookSettings | undefined,
  owner: string,
): Promise<AutoRemediationAttempt[]> {
  const { db, clock, log } = deps
  if (!(await tryAcquireJobLease(db, 'auto-remediation', owner, clock.now(), 30_000))) return []
  const config = await readAlertingConfig(db)
  const newest = (await listIncidents(db, { limit: 1 }))[0]?.id ?? 0
  const stored = await getMeta(db, cursorKey)
  if (stored === undefined) {
    await setMeta(db, cursorKey, String(newest))
    return []
  }
  let cursor = Number(stored)
  if (newest <= cursor) return []
  const withRunbooks = Object.values(config.receivers).some((r) => r.runbook !== undefined)
  if (!withRunbooks) {
    await setMeta(db, cursorKey, String(newest))
    return []
  }
  const attempts: AutoRemediationAttempt[] = []
  // Oldest first: page backwards from the newest down to the cursor, then reverse.
  const fresh = []
  let before: number | undefined
  for (;;) {
    const page = await listIncidents(db, {
      limit: 100,
      ...(before === undefined ? {} : { beforeId: before }),
    })
    const newer = page.filter((incident) => incident.id > cursor)
    fresh.push(...newer)
    if (newer.length < page.length || page.length < 100) break
    before = page.at(-1)?.id
  }
  for (const incident of fresh.reverse()) {
    const [first] = await listIncidentAlerts(db, incident.id)
    const labels = {
      ...(first?.labels ?? {}),
      severity: incident.severity,
      ...(incident.service !== undefined ? { service: incident.service } : {}),
      ...(incident.team !== undefined ? { team: incident.team } : {}),
    }
    const seen = new Set<string>()
    for (const { match, receiver } of receiversFor(config, labels)) {
      if (!receiver.runbook || seen.has(receiver.runbook.name)) continue
      seen.add(receiver.runbook.name)
      const result = await startAutoRemediation({ db, clock }, settings, receiver.runbook.name, {
        params: receiver.runbook.params,
        incidentId: incident.id,
        route: match.id,
      })
      const attempt: AutoRemediationAttempt = {
        incidentId: incident.id,
        runbook: receiver.runbook.name,
        route: match.id,
        started: result.started,
        ...(result.started ? { runId: String(result.run.id) } : { reason: result.reason }),
      }
      attempts.push(attempt)
      if (result.started) {
        result.settled.catch((err: unknown) =>
          log.error({ err, incident: incident.id }, 'an auto-remediation run failed'),
        )
      } else {
        log.warn(attempt, `auto-remediation for incident #${incident.id} not started`)
      }
    }
    cursor = incident.id
    await setMeta(db, cursorKey, String(cursor))
  }
  return attempts
}
