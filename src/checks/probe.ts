import type { z } from 'zod'
import type { CheckOutcome, Placeholder } from '../core/checks/index.js'

/** What the engine hands a probe for one run. */
export interface ProbeContext {
  /** Aborted when the monitor's timeout passes or Keel shuts down. */
  signal: AbortSignal
  timeoutMs: number
  /** The monitor's Gatus-style conditions, as written (`[STATUS] == 200`). */
  conditions: readonly string[]
  /** When a push monitor (heartbeat) last received a ping, if ever; other probes ignore it. */
  lastPingAt?: number
}

/** One thing a probe requires of what it observes, in words, and what it means when unmet. */
export interface ProbeExpectation {
  /** The requirement, as an operator would say it (`status is 200-299`). */
  text: string
  /** The state a check lands in when the requirement is not met. */
  otherwise: 'down' | 'degraded'
}

/** A problem with a field of a probe's config that its schema alone cannot express. */
export interface ProbeConfigIssue {
  /** The field's path inside the monitor spec (`['schedule']`). */
  path: (string | number)[]
  message: string
}

/** What a probe that executes something runs on the Keel host, as its config names it. */
export interface ProbeExecution {
  /** The program's path, as written. */
  command: string
  /** Variables added to the program's environment. */
  env: Readonly<Record<string, string>>
  /** The working directory, when set. */
  cwd?: string
}

/**
 * One kind of check. A probe file exports one definition; `registry.ts` lists them all.
 * `run` never throws for an expected failure: it returns `{ status: 'down', message }`.
 */
export interface ProbeDefinition<S extends z.ZodObject = z.ZodObject> {
  type: string
  /** One line for `keel --help` and the docs. */
  description: string
  /** The type's own fields; merged with `monitorCommonShape` into the monitor schema. */
  configSchema: S
  /** Field names in `configSchema` that hold secrets (redacted in output, encrypted at rest). */
  secretFields: readonly string[]
  /** The condition placeholders this probe observes; conditions using others are rejected. */
  placeholders?: readonly Placeholder[]
  /** Checks between fields (`period` or `schedule`, not both); runs after the schema passed. */
  validate?(config: z.output<S>): ProbeConfigIssue[]
  /**
   * What the probe's own fields require (expected status, keyword, expiry), for the monitor
   * page; the monitor's `conditions` are listed beside these, so leave them out.
   */
  expectations?(config: z.output<S>, conditions: readonly string[]): ProbeExpectation[]
  /** A short human description of what is checked (`GET https://example.org/health`). */
  target(config: z.output<S>): string
  /**
   * Set on probes that run a program on the Keel host: what they run. Keel then accepts their
   * monitors from keel.yaml, and from the API only under `checks.commandDirs`
   * (see `src/checks/command-policy.ts`), and re-checks that before every run.
   */
  executes?(config: z.output<S>): ProbeExecution
  run(config: z.output<S>, context: ProbeContext): Promise<CheckOutcome>
}

/** Erases a definition's config type so definitions of several types can share one array. */
export type AnyProbeDefinition = ProbeDefinition<z.ZodObject>

/** A definition that keeps its literal `type` and schema, so the registry can build typed specs. */
export type TypedProbeDefinition<T extends string, S extends z.ZodObject> = ProbeDefinition<S> & {
  type: T
}

/** Lets a probe file declare its definition with full type inference on `config`. */
export function defineProbe<T extends string, S extends z.ZodObject>(
  definition: TypedProbeDefinition<T, S>,
): TypedProbeDefinition<T, S> {
  return definition
}
