import { PassWorker } from './pass-loop.js'
import type { Logger } from 'pino'
import type { NotificationMessage } from '../channels/channel.js'
import { routedEscalation } from '../core/alerts/index.js'
import {
  escalationPolicyFor,
  nextEscalationStep,
  resolveTargets,
  type EscalationPolicy,
  type OncallConfig,
} from '../core/escalation/index.js'
import type { IncidentEffect } from '../core/incidents/index.js'
import type { Clock } from '../core/time.js'
import { incidentLinkGrant, type AckLinkSettings } from '../services/ack-links.js'
import { readAlertingConfig } from '../services/alerting.js'
import { readOncallConfig, readOncallConfigWithOverrides } from '../services/oncall.js'
import type { Db, Executor } from '../store/dialect.js'
import {
  advanceRoundRobinCursor,
  cancelPendingEscalationSteps,
  claimDueEscalationSteps,
  finishEscalationStep,
  getEscalation,
  getLeasedEscalationStep,
  insertEscalationStep,
  nextEscalationStepDue,
  releaseEscalationLeases,
  releaseEscalationStep,
  saveEscalation,
  type Escalation,
  type EscalationStep,
  type EscalationStepOutcome,
  type EscalationSubject,
} from '../store/escalations.js'
import { enqueueNotifications, type LinkGrant } from '../store/notifications.js'

/**
 * The incident an escalation pages about. An `Incident` of core/incidents fits as it is; `labels`
 * (for example its first alert's) are copied into the messages.
 */
export interface EscalationIncident {
  id: number
  title: string
  severity: string
  service?: string
  team?: string
  labels?: Record<string, string>
}

/** What `startEscalation` did. */
export type StartEscalationResult =
  | { started: true; escalation: Escalation; firstStep: { level: number; dueAt: number } }
  | { started: false; reason: string; escalation?: Escalation }

function subjectOf(incident: EscalationIncident): EscalationSubject {
  return {
    title: incident.title,
    severity: incident.severity,
    ...(incident.service !== undefined ? { service: incident.service } : {}),
    ...(incident.team !== undefined ? { team: incident.team } : {}),
    ...(incident.labels !== undefined ? { labels: incident.labels } : {}),
  }
}

function policyOf(config: OncallConfig, id: string): EscalationPolicy | undefined {
  return Object.hasOwn(config.escalationPolicies, id) ? config.escalationPolicies[id] : undefined
}

/**
 * Starts paging for an incident with a policy, in the caller's transaction (the one that opened
 * or re-triggered the incident): queues the first level's step. An escalation already running is
 * left alone, so a repeated call is harmless; a stopped one starts over as a new round.
 */
export async function startEscalation(
  trx: Executor,
  incident: EscalationIncident,
  policyId: string,
  now: number,
  options: { delayMs?: number } = {},
): Promise<StartEscalationResult> {
  const policy = policyOf(await readOncallConfig(trx), policyId)
  if (policy === undefined) {
    return {
      started: false,
      reason: `escalation policy ${policyId} is not defined; nobody is paged for incident #${incident.id}`,
    }
  }
  const current = await getEscalation(trx, incident.id, { forUpdate: true })
  if (current?.status === 'active') {
    return { started: false, reason: 'the incident is already escalating', escalation: current }
  }
  await cancelPendingEscalationSteps(trx, incident.id, now)
  const escalation: Escalation = {
    incidentId: incident.id,
    policyId,
    round: current === undefined ? 0 : current.round + 1,
    status: 'active',
    subject: subjectOf(incident),
    startedAt: now,
    updatedAt: now,
  }
  await saveEscalation(trx, escalation)
  const first = nextEscalationStep({ policy, status: 'active', startedAt: now }, now)
  if (first.kind !== 'step') return { started: false, reason: 'the policy has no levels' }
  await insertEscalationStep(
    trx,
    {
      incidentId: incident.id,
      policyId,
      round: escalation.round,
      level: first.level,
      repeatIndex: first.repeatIndex,
      dueAt: first.dueAt + (options.delayMs ?? 0),
    },
    now,
  )
  return {
    started: true,
    escalation,
    firstStep: { level: first.level, dueAt: first.dueAt + (options.delayMs ?? 0) },
  }
}

/**
 * Stops paging for an incident (acknowledged or resolved), in the caller's transaction: cancels
 * every pending step. Locking the escalation row first orders this against a step being run at
 * the same moment, so the step that run queues is cancelled too. Returns how many were cancelled.
 */
export async function stopEscalation(
  trx: Executor,
  incidentId: number,
  now: number,
): Promise<number> {
  const current = await getEscalation(trx, incidentId, { forUpdate: true })
  if (current === undefined) return 0
  if (current.status === 'active') {
    await saveEscalation(trx, { ...current, status: 'stopped', updatedAt: now })
  }
  return cancelPendingEscalationSteps(trx, incidentId, now)
}

/** The labels routes match an incident on: its alert's labels, then its own severity, service, team. */
export function escalationLabels(
  incident: EscalationIncident,
  alertLabels: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    ...alertLabels,
    ...incident.labels,
    severity: incident.severity,
    ...(incident.service !== undefined ? { service: incident.service } : {}),
    ...(incident.team !== undefined ? { team: incident.team } : {}),
  }
}

/**
 * Carries out an incident transition's escalation effects in its transaction: `startEscalation`
 * picks the policy by the routes (then the team's policy) and starts paging, `stopEscalation`
 * stops it. Other effects are left alone. An incident no route or team claims is not paged.
 */
export async function applyEscalationEffects(
  trx: Executor,
  incident: EscalationIncident,
  effects: readonly IncidentEffect[],
  now: number,
  options: { alertLabels?: Readonly<Record<string, string>> } = {},
): Promise<void> {
  for (const effect of effects) {
    if (effect.kind === 'stopEscalation') await stopEscalation(trx, incident.id, now)
    if (effect.kind !== 'startEscalation') continue
    const labels = escalationLabels(incident, options.alertLabels)
    // The routing tree decides first (its group_wait delays the first page, so alerts of one
    // group land in one incident before anyone is woken); then the flat routes and team policy.
    const routed = routedEscalation(await readAlertingConfig(trx), labels)
    if (routed !== undefined) {
      await startEscalation(trx, { ...incident, labels }, routed.policyId, now, {
        delayMs: routed.groupWait,
      })
      continue
    }
    const choice = escalationPolicyFor(await readOncallConfig(trx), labels)
    if (choice !== undefined) {
      await startEscalation(trx, { ...incident, labels }, choice.policyId, now)
    }
  }
}

/** How paging messages link back to Keel. */
export type EscalationLinks = AckLinkSettings

/** Options of the escalator. */
export interface EscalatorOptions {
  db: Db
  clock: Clock
  log: Logger
  owner: string
  /** How long a claimed step is this node's (default 60 s); a crash frees it after this. */
  leaseMs?: number
  /** The slowest polling pace (default 5 s); `nudge()` wakes it sooner. */
  pollIntervalMs?: number
  /** Steps claimed at once (default 20). */
  batchSize?: number
  /** How long after a failed attempt a step is tried again (default 10 s). */
  retryDelayMs?: number
  /** After this many failed attempts a step is skipped and the next level queued (default 10). */
  maxAttempts?: number
  /** Adds the incident link and signed acknowledge/resolve links to messages when set. */
  links?: EscalationLinks
  /** Called after a step queued messages, to wake the outbox dispatcher. */
  onNotified?: () => void
  /** Called after each step is finished, for logs and metrics. */
  onStep?: (step: EscalationStep, outcome: ProcessedStep) => void
}

/** What running one claimed step came to. */
export type ProcessedStep =
  | {
      kind: 'paged'
      outcome: EscalationStepOutcome
      next?: { level: number; repeatIndex: number; dueAt: number }
    }
  | { kind: 'cancelled'; reason: string }
  | { kind: 'skipped'; reason: string }

/** The outbox id of one page: the same step, user and channel always give the same id. */
export function escalationMessageId(stepId: number, user: string, channel: string): string {
  return `escalation:${stepId}:${user}:${channel}`
}

function ordinalLevel(step: Pick<EscalationStep, 'level' | 'repeatIndex'>): string {
  return step.repeatIndex === 0
    ? `level ${step.level}`
    : `level ${step.level} (repeat ${step.repeatIndex})`
}

function buildMessage(
  step: EscalationStep,
  escalation: Escalation,
  user: string,
  channel: string,
  now: number,
  links: EscalationLinks | undefined,
): NotificationMessage {
  const subject = escalation.subject
  const incident = `incident #${step.incidentId}`
  // The one-click links travel as `actions`, signed by the dispatcher from the outbox row's link
  // grant when it sends (see `escalationLinkGrant`); every channel renders them its own way.
  const lines = [
    `${incident} (${subject.severity}) is not acknowledged: ${subject.title}`,
    `You are paged at ${ordinalLevel(step)} of escalation policy ${step.policyId}.`,
  ]
  const labels: Record<string, string> = {
    ...subject.labels,
    incident: String(step.incidentId),
    ...(subject.service !== undefined ? { service: subject.service } : {}),
    ...(subject.team !== undefined ? { team: subject.team } : {}),
  }
  return {
    id: escalationMessageId(step.id, user, channel),
    status: 'firing',
    severity: subject.severity,
    title: `[#${step.incidentId}] ${subject.title}`,
    text: lines.join('\n'),
    fingerprint: `incident:${step.incidentId}`,
    labels,
    annotations: {
      escalationStep: String(step.id),
      escalationPolicy: step.policyId,
      escalationLevel: String(step.level),
      escalationRepeat: String(step.repeatIndex),
      escalationDueAt: new Date(step.dueAt).toISOString(),
      pagedUser: user,
    },
    at: now,
    ...(links !== undefined ? { url: `${links.publicUrl}/incidents/${step.incidentId}` } : {}),
  }
}

/** The links of a page, bound to the paged user; a step fires only while unacknowledged. */
function escalationLinkGrant(
  step: EscalationStep,
  user: string,
  links: EscalationLinks | undefined,
): LinkGrant | undefined {
  return links !== undefined
    ? incidentLinkGrant({ id: step.incidentId, status: 'triggered' }, user)
    : undefined
}

/** Queues the step after `fired`, or marks the escalation exhausted when there is none. */
async function queueNext(
  trx: Executor,
  escalation: Escalation,
  policy: EscalationPolicy | undefined,
  fired: Pick<EscalationStep, 'level' | 'repeatIndex' | 'policyId' | 'round' | 'incidentId'>,
  now: number,
): Promise<{ level: number; repeatIndex: number; dueAt: number } | undefined> {
  const next =
    policy === undefined
      ? ({ kind: 'stop', reason: 'exhausted' } as const)
      : nextEscalationStep(
          {
            policy,
            status: 'active',
            startedAt: escalation.startedAt,
            fired: { level: fired.level, repeatIndex: fired.repeatIndex },
          },
          now,
        )
  if (next.kind !== 'step') {
    await saveEscalation(trx, { ...escalation, status: 'exhausted', updatedAt: now })
    return undefined
  }
  await insertEscalationStep(
    trx,
    {
      incidentId: fired.incidentId,
      policyId: fired.policyId,
      round: fired.round,
      level: next.level,
      repeatIndex: next.repeatIndex,
      dueAt: next.dueAt,
    },
    now,
  )
  return { level: next.level, repeatIndex: next.repeatIndex, dueAt: next.dueAt }
}

/** Options of `runEscalationStep`. */
export interface RunEscalationStepOptions {
  owner: string
  now: number
  links?: EscalationLinks
  /** Instead of paging, skip the level with this note (a step that kept failing). */
  giveUp?: string
}

/**
 * Runs one claimed step in one transaction: re-checks that it is still this node's and the
 * escalation still active, resolves the level's targets, queues one outbox message per user and
 * channel (ids derived from the step, so a retry of the step queues nothing twice), marks the
 * step done and queues the next one. Either all of that commits or none of it.
 */
export async function runEscalationStep(
  db: Db,
  claimed: Pick<EscalationStep, 'id' | 'incidentId'>,
  options: RunEscalationStepOptions,
): Promise<ProcessedStep> {
  const { owner, now } = options
  return db.transaction().execute(async (trx): Promise<ProcessedStep> => {
    // The escalation row first, as `stopEscalation` locks it first: the same order in both
    // means an acknowledgement and a step running at once wait for each other, not deadlock.
    const escalation = await getEscalation(trx, claimed.incidentId, { forUpdate: true })
    const step = await getLeasedEscalationStep(trx, claimed.id, owner)
    if (step === undefined) {
      return { kind: 'skipped', reason: 'the step was finished or claimed by another node' }
    }
    if (escalation?.status !== 'active' || escalation.round !== step.round) {
      const reason = 'the escalation was stopped (acknowledged, resolved or started over)'
      await finishEscalationStep(trx, step.id, 'cancelled', now, {
        users: [],
        notifications: [],
        unresolved: [],
        note: reason,
      })
      return { kind: 'cancelled', reason }
    }
    // Overrides made through the API count: whoever took the shift is paged.
    const config = await readOncallConfigWithOverrides(trx, now, now + 1)
    const policy = policyOf(config, step.policyId)
    const level = policy?.levels[step.level - 1]
    const outcome: EscalationStepOutcome = { users: [], notifications: [], unresolved: [] }
    if (options.giveUp !== undefined) {
      outcome.note = options.giveUp
    } else if (policy === undefined) {
      outcome.note = `escalation policy ${step.policyId} is no longer defined; escalation ends`
    } else if (level === undefined) {
      outcome.note = `escalation policy ${step.policyId} no longer has level ${step.level}`
    } else {
      const cursor = level.roundRobin
        ? await advanceRoundRobinCursor(trx, step.policyId, step.level)
        : undefined
      const resolved = resolveTargets(level, {
        schedules: config.schedules,
        teams: config.teams,
        users: config.users,
        now,
        ...(cursor !== undefined ? { roundRobinCursor: cursor } : {}),
      })
      outcome.users = resolved.users
      outcome.unresolved = resolved.unresolved.map((u) => u.reason)
      const items: { channelSlug: string; message: NotificationMessage; linkGrant?: LinkGrant }[] =
        []
      for (const user of resolved.users) {
        const channels = config.users[user]?.channels ?? []
        if (channels.length === 0) outcome.unresolved.push(`user ${user} has no channels`)
        const linkGrant = escalationLinkGrant(step, user, options.links)
        for (const channel of channels) {
          items.push({
            channelSlug: channel,
            message: buildMessage(step, escalation, user, channel, now, options.links),
            ...(linkGrant ? { linkGrant } : {}),
          })
        }
      }
      outcome.notifications = items.map((item) => item.message.id)
      if (items.length === 0) outcome.note = 'nobody could be paged at this level'
      await enqueueNotifications(trx, items, now)
    }
    await finishEscalationStep(trx, step.id, 'done', now, outcome)
    const next = await queueNext(trx, escalation, policy, step, now)
    return { kind: 'paged', outcome, ...(next !== undefined ? { next } : {}) }
  })
}

/**
 * Runs due escalation steps: claims them with a lease (several nodes share the work on
 * PostgreSQL), runs each in its own transaction, and sleeps until the next one is due. Steps
 * are rows, so a restart or a crash loses none: a claimed step whose node died is claimed again
 * when its lease runs out, and a node restarted under the same id takes its leases back at once.
 */
export class Escalator extends PassWorker {
  constructor(private readonly options: EscalatorOptions) {
    super({
      clock: options.clock,
      pollIntervalMs: options.pollIntervalMs ?? 5_000,
      onError: (error) => options.log.error({ err: error }, 'reading due escalation steps failed'),
    })
  }

  /** Takes back this node's leases and starts running due steps. */
  override async start(): Promise<void> {
    try {
      await releaseEscalationLeases(this.options.db, this.options.owner)
    } catch (error) {
      this.options.log.error({ err: error }, 'releasing escalation leases failed')
    }
    super.start()
  }

  protected nextDue(): Promise<number | undefined> {
    return nextEscalationStepDue(this.options.db)
  }

  protected async pass(): Promise<void> {
    const { db, clock, log, owner } = this.options
    try {
      for (;;) {
        if (this.loop.stopped) break
        const claimed = await claimDueEscalationSteps(
          db,
          owner,
          clock.now(),
          this.options.leaseMs ?? 60_000,
          this.options.batchSize ?? 20,
        )
        if (claimed.length === 0) break
        for (const step of claimed) await this.runOne(step)
      }
    } catch (error) {
      log.error({ err: error }, 'escalation pass failed; will retry')
    }
  }

  private async runOne(step: EscalationStep): Promise<void> {
    const { db, clock, log, owner } = this.options
    const maxAttempts = this.options.maxAttempts ?? 10
    let result: ProcessedStep
    try {
      result = await runEscalationStep(db, step, {
        owner,
        now: clock.now(),
        ...(this.options.links !== undefined ? { links: this.options.links } : {}),
      })
    } catch (error) {
      if (step.attempts < maxAttempts) {
        log.error(
          { err: error, step: step.id, incident: step.incidentId, attempt: step.attempts },
          `escalation step ${step.id} of incident #${step.incidentId} failed; trying again`,
        )
        await releaseEscalationStep(
          db,
          step.id,
          owner,
          clock.now() + (this.options.retryDelayMs ?? 10_000),
        ).catch((releaseError: unknown) =>
          log.error({ err: releaseError }, 'releasing a failed escalation step failed'),
        )
        return
      }
      log.error(
        { err: error, step: step.id, incident: step.incidentId },
        `escalation step ${step.id} of incident #${step.incidentId} failed ${step.attempts} times; skipping to the next level`,
      )
      try {
        result = await runEscalationStep(db, step, {
          owner,
          now: clock.now(),
          giveUp: `gave up after ${step.attempts} attempts: ${String(error)}`,
        })
      } catch (giveUpError) {
        log.error({ err: giveUpError, step: step.id }, 'skipping a failing escalation step failed')
        return
      }
    }
    if (result.kind === 'paged') {
      log.info(
        {
          incident: step.incidentId,
          policy: step.policyId,
          level: step.level,
          repeat: step.repeatIndex,
          users: result.outcome.users,
          unresolved: result.outcome.unresolved,
          next: result.next,
        },
        `incident #${step.incidentId}: escalation ${ordinalLevel(step)} paged ${result.outcome.users.join(', ') || 'nobody'}`,
      )
      if (result.outcome.notifications.length > 0) this.options.onNotified?.()
    }
    this.options.onStep?.(step, result)
  }
}
