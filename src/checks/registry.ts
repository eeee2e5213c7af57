import { performance } from 'node:perf_hooks'
import { z } from 'zod'
import {
  monitorCommonShape,
  parseCondition,
  type CheckOutcome,
  type CheckStatus,
} from '../core/checks/index.js'
import { formatDuration } from '../core/time.js'
import { commandProbe } from './command.js'
import { apiExecutionIssues, type ExecutionIssue, type SpecOrigin } from './command-policy.js'
import { dnsProbe } from './dns.js'
import { heartbeatProbe } from './heartbeat.js'
import { httpProbe } from './http.js'
import { mysqlProbe } from './mysql.js'
import { errorMessage } from './network-error.js'
import { pingProbe } from './ping.js'
import { postgresProbe } from './postgres.js'
import type { AnyProbeDefinition, ProbeExpectation, TypedProbeDefinition } from './probe.js'
import { redisProbe } from './redis.js'
import { tcpProbe } from './tcp.js'
import { tlsProbe } from './tls.js'

// Adding a probe: write its file, then add it here.
const definitions = [
  httpProbe,
  tcpProbe,
  dnsProbe,
  tlsProbe,
  pingProbe,
  postgresProbe,
  mysqlProbe,
  redisProbe,
  commandProbe,
  heartbeatProbe,
] as const

/** Every probe Keel knows, in the order `keel --help` lists them. */
export const probes: readonly AnyProbeDefinition[] = definitions

/** The probe for a monitor type, or undefined for an unknown type. */
export function findProbe(type: string): AnyProbeDefinition | undefined {
  return probes.find((probe) => probe.type === type)
}

const conditionsField = z
  .array(
    z.string().superRefine((text, ctx) => {
      const parsed = parseCondition(text)
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason })
    }),
  )
  .default([])

const specCommonShape = { ...monitorCommonShape, conditions: conditionsField }

/** The zod shape of one monitor type's spec: its `type`, the common fields and its own fields. */
export type SpecShape<T extends string, S extends z.ZodObject> = { type: z.ZodLiteral<T> } & Omit<
  typeof specCommonShape,
  keyof S['shape']
> &
  S['shape']

function specSchema<T extends string, S extends z.ZodObject>(
  probe: TypedProbeDefinition<T, S>,
): z.ZodObject<SpecShape<T, S>, z.core.$strict> {
  // Built loosely typed and cast once: TypeScript cannot follow a generic shape through zod.
  const own: z.core.$ZodLooseShape = probe.configSchema.shape
  const schema = z
    .object({ type: z.literal(probe.type as string), ...specCommonShape, ...own })
    .strict()
    .superRefine((spec, ctx) => {
      const offered = probe.placeholders
      if (offered) {
        spec.conditions.forEach((text, index) => {
          const parsed = parseCondition(text)
          if (!parsed.ok) return
          for (const placeholder of parsed.condition.placeholders) {
            if (offered.includes(placeholder)) continue
            ctx.addIssue({
              code: 'custom',
              path: ['conditions', index],
              message:
                offered.length === 0
                  ? `${probe.type} monitors take no conditions`
                  : `${placeholder} is not observed by ${probe.type} monitors; use ${offered.join(', ')}`,
            })
          }
        })
      }
      for (const issue of probe.validate?.(spec as z.output<S>) ?? []) {
        ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message })
      }
    })
  return schema as unknown as z.ZodObject<SpecShape<T, S>, z.core.$strict>
}

type SpecSchema<P> =
  P extends TypedProbeDefinition<infer T, infer S> ? ReturnType<typeof specSchema<T, S>> : never
type SpecSchemas<L extends readonly unknown[]> = { -readonly [K in keyof L]: SpecSchema<L[K]> }

/**
 * The schema of one monitor: the common fields plus the fields of its `type`, with unknown
 * fields rejected. Durations come out in milliseconds.
 */
export const monitorSpecSchema = z.discriminatedUnion(
  'type',
  definitions.map((probe) =>
    specSchema(probe as TypedProbeDefinition<string, z.ZodObject>),
  ) as unknown as SpecSchemas<typeof definitions>,
)

/** A validated monitor spec (durations in ms, defaults applied). */
export type MonitorSpec = z.output<typeof monitorSpecSchema>

/** One problem with a monitor spec: the dotted path of the field and what to do about it. */
export interface MonitorSpecIssue {
  path: string
  message: string
}

/** The result of `parseMonitorSpec`: the spec, or every issue found. */
export type ParseMonitorSpecResult =
  { ok: true; spec: MonitorSpec } | { ok: false; issues: MonitorSpecIssue[] }

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        previous + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1),
      )
      previous = current
    }
  }
  return row[b.length] as number
}

function suggestion(field: string, known: readonly string[]): string {
  const close = known
    .map((name) => ({ name, cost: distance(field, name) }))
    .filter(({ cost }) => cost <= Math.max(1, Math.floor(field.length / 3)))
    .sort((a, b) => a.cost - b.cost)[0]
  return close ? `; did you mean "${close.name}"?` : ''
}

function joinPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.')
}

/** Validates a monitor spec as written (keel.yaml, API) and collects every issue with its path. */
export function parseMonitorSpec(input: unknown): ParseMonitorSpecResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, issues: [{ path: '', message: 'a monitor must be an object with a type' }] }
  }
  const type = (input as Record<string, unknown>).type
  const probe = typeof type === 'string' ? findProbe(type) : undefined
  if (!probe) {
    const known = probes.map((definition) => definition.type)
    const got = type === undefined ? 'nothing' : JSON.stringify(type)
    const hint = typeof type === 'string' ? suggestion(type, known) : ''
    return {
      ok: false,
      issues: [
        { path: 'type', message: `type must be one of ${known.join(', ')}; got ${got}${hint}` },
      ],
    }
  }
  const result = monitorSpecSchema.safeParse(input)
  if (result.success) return { ok: true, spec: result.data }
  const known = [
    'type',
    ...Object.keys(monitorCommonShape),
    ...Object.keys(probe.configSchema.shape),
  ]
  const issues = result.error.issues.flatMap((issue): MonitorSpecIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: joinPath([...issue.path, key]),
        message: `unknown field "${key}" for a ${probe.type} monitor${issue.path.length === 0 ? suggestion(key, known) : ''}`,
      }))
    }
    return [{ path: joinPath(issue.path), message: issue.message }]
  })
  return { ok: false, issues }
}

/** What a monitor checks, in a few words (`GET https://example.org/health`). */
export function describeTarget(spec: MonitorSpec): string {
  return findProbe(spec.type)?.target(spec) ?? spec.type
}

/** One requirement a check must meet, in words; `condition` ones are written as in the spec. */
export interface MonitorExpectation extends ProbeExpectation {
  source: 'probe' | 'condition'
}

/** What decides a monitor's state: what each check requires, and how many checks confirm a change. */
export interface MonitorRules {
  expectations: MonitorExpectation[]
  /** Failing checks in a row before the monitor turns down or degraded (`retries` + 1). */
  downAfter: number
  /** Passing checks in a row before a failing monitor is up again (`recoveries`). */
  upAfter: number
}

/** Describes what makes a monitor down or degraded, from its type's fields and its conditions. */
export function describeRules(spec: MonitorSpec): MonitorRules {
  const probe = findProbe(spec.type)
  const own = probe?.expectations?.(spec, spec.conditions) ?? []
  return {
    expectations: [
      ...own.map((e): MonitorExpectation => ({ ...e, source: 'probe' })),
      ...spec.conditions.map((text): MonitorExpectation => ({
        text,
        otherwise: 'down',
        source: 'condition',
      })),
    ],
    downAfter: spec.retries + 1,
    upAfter: spec.recoveries,
  }
}

/** Whether a monitor of this spec runs a program on the Keel host (its probe `executes`). */
export function specExecutes(spec: { type?: unknown }): boolean {
  return typeof spec.type === 'string' && findProbe(spec.type)?.executes !== undefined
}

/**
 * Why a spec written through the API may not run its program (see `apiExecutionIssues`);
 * empty for probes that execute nothing, and for those whose program is allowed.
 */
export async function specExecutionIssues(
  spec: MonitorSpec,
  commandDirs: readonly string[],
): Promise<ExecutionIssue[]> {
  const execution = findProbe(spec.type)?.executes?.(spec)
  return execution ? apiExecutionIssues(execution, commandDirs) : []
}

/** Options of one check run. */
export interface RunCheckOptions {
  /**
   * Who wrote the spec. A probe that executes runs a spec from the API only while its program
   * is allowed, and otherwise reports down without running; absent counts as the API with no
   * allowed directory, so a caller that forgets refuses rather than runs.
   */
  origin?: SpecOrigin
  /** Aborted when Keel shuts down; the monitor's own timeout is applied on top. */
  signal?: AbortSignal
  /** For heartbeat monitors: when the last ping arrived. */
  lastPingAt?: number
  /** Runs this definition instead of the registry's one for `spec.type` (tests, extensions). */
  probe?: AnyProbeDefinition
}

// A plain, preallocated abort reason: aborting with it after a run costs no Error and stack.
const checkFinished = { name: 'CheckFinished', message: 'the check finished' }

const statuses: readonly CheckStatus[] = ['up', 'down', 'degraded']
const maxMessageLength = 2_000
// How long a probe that ignores its signal may overrun the timeout before it is given up on.
const overrunMs = 2_000

function sanitize(outcome: CheckOutcome, elapsedMs: number): CheckOutcome {
  if (!outcome || !statuses.includes(outcome.status) || typeof outcome.message !== 'string') {
    return {
      status: 'down',
      latencyMs: elapsedMs,
      message: 'probe error: the probe returned no valid outcome',
    }
  }
  const latencyMs =
    typeof outcome.latencyMs === 'number' &&
    Number.isFinite(outcome.latencyMs) &&
    outcome.latencyMs >= 0
      ? outcome.latencyMs
      : elapsedMs
  const message =
    outcome.message.length > maxMessageLength
      ? `${outcome.message.slice(0, maxMessageLength - 3)}...`
      : outcome.message
  return { ...outcome, latencyMs, message }
}

/**
 * Runs one check of a monitor with its timeout. Never throws and never hangs: a probe that
 * throws becomes `probe error: …`, and one that ignores its signal is abandoned shortly after
 * the timeout, so a probe bug cannot stall or crash the scheduler.
 */
export async function runCheck(
  spec: MonitorSpec,
  options: RunCheckOptions = {},
): Promise<CheckOutcome> {
  const started = performance.now()
  const elapsed = () => Math.round((performance.now() - started) * 1000) / 1000
  const probe = options.probe ?? findProbe(spec.type)
  if (!probe)
    return { status: 'down', latencyMs: 0, message: `unknown monitor type "${spec.type}"` }
  const origin = options.origin ?? { from: 'api', commandDirs: [] }
  const execution = origin.from === 'api' ? probe.executes?.(spec) : undefined
  if (execution && origin.from === 'api') {
    const issues = await apiExecutionIssues(execution, origin.commandDirs).catch(
      (error: unknown) => [{ path: 'command', message: `cannot check it: ${errorMessage(error)}` }],
    )
    if (issues.length > 0) {
      const reasons = issues.map((issue) => issue.message).join('; ')
      return sanitize({ status: 'down', latencyMs: 0, message: `not run: ${reasons}` }, elapsed())
    }
  }
  const timeoutMs = spec.timeout
  const controller = new AbortController()
  const timer = setTimeout(
    () =>
      controller.abort(
        new DOMException(`timed out after ${formatDuration(timeoutMs)}`, 'TimeoutError'),
      ),
    timeoutMs,
  )
  const forward = () => controller.abort(options.signal?.reason)
  if (options.signal?.aborted) forward()
  else options.signal?.addEventListener('abort', forward, { once: true })
  let overrunTimer: NodeJS.Timeout | undefined
  let settled = false
  const abandoned = new Promise<CheckOutcome>((resolve) => {
    const giveUp = () => {
      if (settled) return
      overrunTimer = setTimeout(() => {
        const reason: unknown = controller.signal.reason
        const timedOut = reason instanceof DOMException && reason.name === 'TimeoutError'
        resolve({
          status: 'down',
          latencyMs: elapsed(),
          message: timedOut
            ? `timed out after ${formatDuration(timeoutMs)} (the ${spec.type} probe did not stop in time)`
            : 'check aborted',
        })
      }, overrunMs)
    }
    if (controller.signal.aborted) giveUp()
    else controller.signal.addEventListener('abort', giveUp, { once: true })
  })
  try {
    const run = Promise.resolve().then(() =>
      probe.run(spec, {
        signal: controller.signal,
        timeoutMs,
        conditions: spec.conditions,
        ...(options.lastPingAt !== undefined ? { lastPingAt: options.lastPingAt } : {}),
      }),
    )
    return sanitize(await Promise.race([run, abandoned]), elapsed())
  } catch (error) {
    return { status: 'down', latencyMs: elapsed(), message: `probe error: ${errorMessage(error)}` }
  } finally {
    settled = true
    clearTimeout(timer)
    clearTimeout(overrunTimer)
    options.signal?.removeEventListener('abort', forward)
    // Tells the probe's own timers and listeners the run is over, so none fires later.
    if (!controller.signal.aborted) controller.abort(checkFinished)
  }
}
