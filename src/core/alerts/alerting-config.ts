import { z } from 'zod'
import { parseDuration, type Instant } from '../time.js'
import type { Labels } from './fingerprint.js'
import { inhibitedBy, inhibitRuleSchema, type InhibitingAlert } from './inhibition.js'
import {
  activeMaintenance,
  maintenanceWindowSchema,
  type MaintenanceWindow,
} from './maintenance.js'
import { matchRoutes, routeTreeSchema, type Route, type RouteMatch } from './routing.js'
import { silencedBy, type Silence } from './silences.js'
import { isRouteMuted, routeTimeIntervalIssues, timeIntervalsSchema } from './time-intervals.js'
import { isAllowedKey, reservedKeyMessage } from '../reserved-keys.js'

const idPattern = /^[a-z0-9][a-z0-9_-]*$/

const receiverIdSchema = z
  .string()
  .regex(idPattern, 'receiver ids are lower-case letters, digits, `-` and `_`, such as dba-page')
  .refine(isAllowedKey, { error: (issue) => reservedKeyMessage(String(issue.input)) })

/**
 * A receiver of the routing tree: the channels its aggregation groups notify (Alertmanager's
 * integrations) and the escalation policy that pages people for incidents routed to it.
 */
export const receiverSchema = z
  .strictObject({
    channels: z
      .array(z.string().min(1))
      .default([])
      .describe('Channel ids that get one grouped message per flush of an aggregation group.'),
    escalationPolicy: z
      .string()
      .min(1)
      .optional()
      .describe('Escalation policy id that pages people for incidents routed here.'),
    sendResolved: z
      .boolean()
      .default(true)
      .describe('Whether grouped messages also report alerts that resolved.'),
    runbook: z
      .strictObject({
        name: z.string().min(1).describe('The runbook to start (it must set `autoRun.enabled`).'),
        params: z
          .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
          .default({})
          .describe('Parameters passed to the run.'),
      })
      .optional()
      .describe('Auto-remediation: a runbook started when an incident routed here opens.'),
    dependencySuppression: z
      .boolean()
      .optional()
      .describe('Overrides alerting.dependencySuppression for alerts routed here.'),
  })
  .refine(
    (receiver) =>
      receiver.channels.length > 0 ||
      receiver.escalationPolicy !== undefined ||
      receiver.runbook !== undefined,
    {
      message:
        'a receiver needs `channels`, an `escalationPolicy` or a `runbook`; otherwise it does nothing',
    },
  )

/** A receiver as validated. */
export type Receiver = z.output<typeof receiverSchema>

/** A maintenance window in keel.yaml: the core window plus what the status page shows. */
export const configMaintenanceSchema = z
  .object({
    description: z.string().optional().describe('Shown on the status page.'),
    public: z.boolean().default(false).describe('Whether the public status page shows it.'),
  })
  .passthrough()
  .transform((input, ctx) => {
    const { description, public: isPublic, ...rest } = input
    const parsed = maintenanceWindowSchema.safeParse(rest)
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: 'custom' })
      return z.NEVER
    }
    return {
      ...parsed.data,
      ...(description === undefined ? {} : { description }),
      public: isPublic,
    }
  })

/** A maintenance window with what the status page shows of it. */
export type DescribedMaintenanceWindow = MaintenanceWindow & {
  description?: string
  public: boolean
}

const durationText = (field: string) =>
  z.string().transform((text, ctx): number => {
    const ms = parseDuration(text)
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `\`${field}\` must be a duration such as 30m or 1h, got ${JSON.stringify(text)}`,
      })
      return z.NEVER
    }
    return ms
  })

/**
 * The `alerting` section of keel.yaml: Alertmanager's routing tree (receivers name channels and
 * escalation policies), inhibition rules, named time intervals and maintenance windows.
 */
export const alertingConfigSchema = z
  .strictObject({
    receivers: z
      .record(receiverIdSchema, receiverSchema)
      .default({})
      .describe('Receivers by id: channels for grouped messages, a policy for paging.'),
    route: routeTreeSchema
      .optional()
      .describe('The routing tree, as Alertmanager `route` with camelCase keys.'),
    inhibitRules: z
      .array(inhibitRuleSchema)
      .default([])
      .describe('Alerts matching a source mute alerts matching a target with equal labels.'),
    timeIntervals: timeIntervalsSchema
      .default({})
      .describe('Named time intervals for `muteTimeIntervals` / `activeTimeIntervals`.'),
    maintenance: z
      .array(configMaintenanceSchema)
      .default([])
      .describe('Maintenance windows (one-off or weekly, in an IANA time zone) that mute alerts.'),
    silenceExpiryNotice: durationText('silenceExpiryNotice')
      .default(() => 3_600_000)
      .describe('How long before a silence ends its creator is told (default 1h; 0s: never).'),
    noticeChannels: z
      .array(z.string().min(1))
      .default([])
      .describe('Channels that get notices such as "silence expires soon".'),
    dependencySuppression: z
      .boolean()
      .default(true)
      .describe(
        'Group an alert under the open incident of the down catalog entity it depends on, instead of paging for it.',
      ),
  })
  .superRefine((config, ctx) => {
    const ids = new Set<string>()
    config.maintenance.forEach((window, index) => {
      if (ids.has(window.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['maintenance', index, 'id'],
          message: `maintenance window id ${JSON.stringify(window.id)} is used twice; ids must be unique`,
        })
      }
      ids.add(window.id)
    })
    if (!config.route) return
    for (const message of routeTimeIntervalIssues(config.route, config.timeIntervals)) {
      ctx.addIssue({ code: 'custom', path: ['route'], message })
    }
    const visit = (route: Route, path: (string | number)[]) => {
      if (route.receiver !== undefined && !Object.hasOwn(config.receivers, route.receiver)) {
        const known = Object.keys(config.receivers).sort()
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'receiver'],
          message: `receiver ${JSON.stringify(route.receiver)} is not defined under alerting.receivers; ${known.length > 0 ? `receivers: ${known.join(', ')}` : 'add it there'}`,
        })
      }
      route.routes?.forEach((child, index) => visit(child, [...path, 'routes', index]))
    }
    visit(config.route, ['route'])
  })

/** The `alerting` section as validated. */
export type AlertingConfig = z.output<typeof alertingConfigSchema>

/** The `alerting` section as written. */
export type AlertingConfigInput = z.input<typeof alertingConfigSchema>

/** Why a firing alert is muted: a silence, a maintenance window or an inhibiting alert. */
export type Suppression =
  | { kind: 'silence'; id: string }
  | { kind: 'maintenance'; id: string }
  | { kind: 'inhibited'; by: string }

/** The stored form of a suppression: `silence:<id>`, `maintenance:<id>`, `inhibited:<fp>`. */
export function suppressionText(suppression: Suppression): string {
  return suppression.kind === 'inhibited'
    ? `inhibited:${suppression.by}`
    : `${suppression.kind}:${suppression.id}`
}

/** What `suppressionOf` looks at besides the alert. */
export interface SuppressionInputs {
  silences: readonly Silence[]
  maintenance: readonly MaintenanceWindow[]
  inhibitRules: AlertingConfig['inhibitRules']
  /** Firing alerts that may inhibit (muted ones never do, as in Alertmanager). */
  firing: readonly (InhibitingAlert & { fingerprint: string })[]
}

/**
 * Why an alert with these labels is muted at `now`, or undefined when it pages: a silence first,
 * then maintenance, then inhibition by another firing alert (never by itself).
 */
export function suppressionOf(
  fingerprint: string,
  labels: Labels,
  inputs: SuppressionInputs,
  now: Instant,
): Suppression | undefined {
  const silence = silencedBy(labels, inputs.silences, now)[0]
  if (silence) return { kind: 'silence', id: silence.id }
  const window = activeMaintenance(inputs.maintenance, labels, now)[0]
  if (window) return { kind: 'maintenance', id: window.id }
  if (inputs.inhibitRules.length === 0) return undefined
  const others = inputs.firing.filter((alert) => alert.fingerprint !== fingerprint)
  const inhibition = inhibitedBy(labels, others, inputs.inhibitRules)[0]
  return inhibition ? { kind: 'inhibited', by: inhibition.source.fingerprint } : undefined
}

/** A route an alert goes to whose receiver exists, with that receiver. */
export interface ReceiverMatch {
  match: RouteMatch
  receiverId: string
  receiver: Receiver
}

/** The routes (and their receivers) an alert with these labels goes to; none without a tree. */
export function receiversFor(config: AlertingConfig, labels: Labels): ReceiverMatch[] {
  if (!config.route) return []
  const out: ReceiverMatch[] = []
  for (const match of matchRoutes(config.route, labels)) {
    const receiverId = match.receiver
    if (receiverId === undefined || !Object.hasOwn(config.receivers, receiverId)) continue
    out.push({ match, receiverId, receiver: config.receivers[receiverId] as Receiver })
  }
  return out
}

/**
 * The escalation policy the routing tree gives an incident with these labels: the first matched
 * route whose receiver names one, with the route's group_wait as the delay of the first page.
 */
export function routedEscalation(
  config: AlertingConfig,
  labels: Labels,
): { policyId: string; receiverId: string; groupWait: number } | undefined {
  for (const { match, receiverId, receiver } of receiversFor(config, labels)) {
    if (receiver.escalationPolicy !== undefined) {
      return { policyId: receiver.escalationPolicy, receiverId, groupWait: match.groupWait }
    }
  }
  return undefined
}

/** Whether dependency grouping applies to an alert with these labels (per receiver, else global). */
export function dependencySuppressionFor(config: AlertingConfig, labels: Labels): boolean {
  const first = receiversFor(config, labels)[0]
  return first?.receiver.dependencySuppression ?? config.dependencySuppression
}

/** Whether the route is muted now by its mute or active time intervals. */
export function isRouteMutedNow(config: AlertingConfig, match: RouteMatch, now: Instant): boolean {
  return isRouteMuted(match, config.timeIntervals, now)
}
