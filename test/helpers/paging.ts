import { openIncident } from '../../src/core/incidents/index.js'
import { runEscalationStep, startEscalation } from '../../src/engine/escalator.js'
import type { AckLinkSettings } from '../../src/services/ack-links.js'
import { executeApply } from '../../src/services/apply.js'
import { oncallSectionsOf } from '../../src/services/oncall.js'
import type { Db } from '../../src/store/dialect.js'
import { claimDueEscalationSteps } from '../../src/store/escalations.js'
import { insertIncident } from '../../src/store/incidents.js'

/** What `seedPagedIncident` made: the incident and the outbox ids of its pages. */
export interface PagedIncident {
  incidentId: number
  notifications: string[]
}

/**
 * Pages `user` about a new incident through the real escalator: applies an on-call config where
 * `user` is paged at level 1 through the webhook channel `pager-<user>` (posting to
 * `channelUrl`), opens the incident, starts its escalation and runs the due step with `links`,
 * which queues the page in the outbox. Tests only.
 */
export async function seedPagedIncident(options: {
  db: Db
  clock: { now(): number }
  channelUrl: string
  links: AckLinkSettings
  user?: string
  title?: string
}): Promise<PagedIncident> {
  const { db, clock } = options
  const user = options.user ?? 'alice'
  const channel = `pager-${user}`
  await executeApply(
    { db, clock, actor: { name: 'test', role: 'admin' } },
    {
      monitors: {},
      channels: { [channel]: { type: 'webhook', url: options.channelUrl } },
      sources: { monitors: {}, channels: { [channel]: 'keel.yaml' } },
      settings: { defaultChannels: [] },
      oncall: oncallSectionsOf({
        users: { [user]: { name: user, channels: [channel] } },
        escalationPolicies: { main: { levels: [{ targets: [{ user }] }] } },
      }),
    },
  )
  const now = clock.now()
  const { incident: draft } = openIncident(
    {
      title: options.title ?? 'db-main is down',
      severity: 'critical',
      groupKey: `paging-${now}`,
      service: 'db-main',
    },
    now,
  )
  const incident = await insertIncident(db, draft, now)
  if (incident === undefined) throw new Error('an open incident of this group already exists')
  const subject = { id: incident.id, title: incident.title, severity: incident.severity }
  await db.transaction().execute((trx) => startEscalation(trx, subject, 'main', now))
  const notifications: string[] = []
  for (const step of await claimDueEscalationSteps(db, 'seed', now, 60_000, 10)) {
    const done = await runEscalationStep(db, step, { owner: 'seed', now, links: options.links })
    if (done.kind === 'paged') notifications.push(...done.outcome.notifications)
  }
  return { incidentId: incident.id, notifications }
}
