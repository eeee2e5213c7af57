import { z } from 'zod'
import { parseMatchers, type Matcher } from '../alerts/index.js'
import { parseDuration } from '../time.js'

/** Roles from weakest to strongest, as the API and CLI know them. */
export const runbookRoles = ['viewer', 'responder', 'operator', 'admin'] as const

/** One of Keel's roles. */
export type RunbookRole = (typeof runbookRoles)[number]

/** True when `role` is at least `needed`. */
export function roleAtLeast(role: RunbookRole, needed: RunbookRole): boolean {
  return runbookRoles.indexOf(role) >= runbookRoles.indexOf(needed)
}

// A parameter reaches commands as an environment variable, so these names would change how the
// shell or the dynamic loader behaves (IFS splits words, BASH_ENV runs a file, LD_PRELOAD loads
// code) instead of carrying a value: they are refused as parameter names.
const reservedNames = new Set([
  'PATH',
  'HOME',
  'SHELL',
  'IFS',
  'ENV',
  'CDPATH',
  'PS4',
  'LANG',
  'LC_ALL',
  'TZ',
  'PWD',
  'OLDPWD',
  'USER',
  'SHELLOPTS',
  'BASHOPTS',
  'GLOBIGNORE',
  'PROMPT_COMMAND',
  'TMPDIR',
])
const reservedPrefixes = ['KEEL_', 'LD_', 'BASH_', 'DYLD_', 'NODE_']

/** Why a parameter name cannot be used, or undefined when it can. */
export function parameterNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    return `parameter name ${JSON.stringify(name)} must be a shell-style identifier (letters, digits, _; not starting with a digit)`
  }
  const upper = name.toUpperCase()
  if (reservedNames.has(upper) || reservedPrefixes.some((p) => upper.startsWith(p))) {
    return `parameter name ${JSON.stringify(name)} is reserved (it changes how the shell runs); choose another name`
  }
  return undefined
}

/** The parameter types a runbook may declare. */
export const parameterTypes = ['string', 'number', 'boolean', 'enum'] as const

const durationSchema = z.string().transform((text, ctx) => {
  const ms = parseDuration(text)
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `must be a duration such as 30s or 5m, got ${text}` })
    return z.NEVER
  }
  return ms
})

/** The schema of one declared parameter of a runbook. */
export const parameterSchema = z
  .object({
    name: z.string().superRefine((name, ctx) => {
      const problem = parameterNameProblem(name)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    }),
    type: z.enum(parameterTypes).default('string'),
    description: z.string().optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    required: z.boolean().default(false),
    secret: z
      .boolean()
      .default(false)
      .describe(
        'A secret (a token, a password): stored sealed, shown as <redacted>, passed to commands only in their environment and never in an HTTP step URL.',
      ),
    values: z.array(z.string()).optional().describe('The allowed values of an `enum` parameter.'),
    pattern: z
      .string()
      .optional()
      .superRefine((pattern, ctx) => {
        if (pattern === undefined) return
        try {
          new RegExp(pattern, 'u')
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            message: `pattern is not a valid regular expression: ${(error as Error).message}`,
          })
        }
      })
      .describe('A regular expression the whole value must match.'),
  })
  .strict()
  .superRefine((parameter, ctx) => {
    if (
      parameter.type === 'enum' &&
      (parameter.values === undefined || parameter.values.length === 0)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['values'],
        message: `enum parameter ${parameter.name} needs a list of \`values\``,
      })
    }
  })

/** One declared parameter of a runbook. */
export type RunbookParameter = z.output<typeof parameterSchema>

const alertMatchersSchema = z.string().transform((text, ctx): Matcher[] => {
  const parsed = parseMatchers(text)
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.reason })
    return z.NEVER
  }
  return parsed.matchers
})

/** The schema of a runbook's front matter. */
export const frontMatterSchema = z
  .object({
    title: z.string().min(1),
    description: z.string().optional(),
    roles: z.array(z.string()).default([]),
    entities: z.array(z.string()).default([]),
    alerts: z
      .array(alertMatchersSchema)
      .default([])
      .describe(
        'Alerts this runbook answers: each entry is a matcher list (`alertname="DiskFull", severity="critical"`); an alert matching any entry shows the runbook.',
      ),
    parameters: z.array(parameterSchema).default([]),
    runRole: z
      .enum(['responder', 'operator', 'admin'])
      .default('responder')
      .describe('The weakest role that may run it; running anything needs at least responder.'),
    approveRole: z
      .enum(['responder', 'operator', 'admin'])
      .default('operator')
      .describe('The weakest role that may approve a run with dangerous steps.'),
    allowedUsers: z.array(z.string()).optional(),
    allowedTeams: z.array(z.string()).optional(),
    autoRun: z
      .object({
        enabled: z.boolean().default(false),
        maxRunsPerHour: z.number().int().min(1).max(60).default(1),
      })
      .strict()
      .optional(),
    allowCycles: z.boolean().default(false),
    shell: z.enum(['sh', 'bash']).default('sh'),
    timeout: durationSchema.default(300_000),
  })
  .strict()

/** A runbook's front matter after validation and defaults. */
export type RunbookFrontMatter = z.output<typeof frontMatterSchema>

/** Where a step goes next: a step id or `end`. */
export type StepTarget = string

const targetSchema = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a step id or `end`')

const commonStepFields = {
  dangerous: z.boolean().default(false),
  next: targetSchema.optional(),
  continueOnError: z.boolean().default(false),
}

/** The YAML body of a ```keel-command block. */
export const commandBlockSchema = z
  .object({
    run: z.string().min(1),
    timeout: durationSchema.optional(),
    ...commonStepFields,
  })
  .strict()

const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(jsonValue),
    z.record(z.string(), jsonValue),
  ]),
)

/** The YAML body of a ```keel-http block. */
export const httpBlockSchema = z
  .object({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    url: z.string().regex(/^https?:\/\//, 'must start with http:// or https://'),
    headers: z.record(z.string(), z.string()).default({}),
    body: jsonValue.optional(),
    expectStatus: z
      .union([z.number().int(), z.array(z.number().int())])
      .optional()
      .describe('The accepted status codes; any 2xx when absent.'),
    timeout: durationSchema.optional(),
    ...commonStepFields,
  })
  .strict()

/** The YAML body of a ```keel-decision block. */
export const decisionBlockSchema = z
  .object({
    question: z.string().min(1),
    answers: z.array(z.object({ label: z.string().min(1), next: targetSchema }).strict()).min(1),
  })
  .strict()

/** The YAML body of a ```keel-checklist block: more items, and where to go after the step. */
export const checklistBlockSchema = z
  .object({
    items: z.array(z.string().min(1)).default([]),
    next: targetSchema.optional(),
  })
  .strict()

/** The YAML body of a ```keel-link block. */
export const linkBlockSchema = z
  .object({
    runbook: z.string().min(1),
    note: z.string().optional(),
    next: targetSchema.optional(),
  })
  .strict()

interface StepBase {
  id: string
  title: string
  /** The step's markdown, for display. */
  markdown: string
  /** The 1-based line of the step heading. */
  line: number
}

/** A step an operator ticks, with optional checklist items. */
export interface ChecklistStep extends StepBase {
  kind: 'checklist'
  items: string[]
  next?: StepTarget
}

/** A shell script Keel runs, with parameters as environment variables. */
export interface CommandStep extends StepBase {
  kind: 'command'
  run: string
  timeoutMs: number
  dangerous: boolean
  next?: StepTarget
  continueOnError: boolean
}

/** An HTTP request Keel sends. */
export interface HttpStep extends StepBase {
  kind: 'http'
  method: string
  url: string
  headers: Record<string, string>
  body?: unknown
  expectStatus?: number[]
  timeoutMs: number
  dangerous: boolean
  next?: StepTarget
  continueOnError: boolean
}

/** A question whose answers jump to other steps: a node of a troubleshooting tree. */
export interface DecisionStep extends StepBase {
  kind: 'decision'
  question: string
  answers: { label: string; next: StepTarget }[]
}

/** A pointer to another runbook the operator follows, then ticks. */
export interface LinkStep extends StepBase {
  kind: 'link'
  runbook: string
  note?: string
  next?: StepTarget
}

/** One step of a runbook. */
export type RunbookStep = ChecklistStep | CommandStep | HttpStep | DecisionStep | LinkStep

/** The kinds of step. */
export type StepKind = RunbookStep['kind']

/** A parsed, valid runbook. */
export interface Runbook extends RunbookFrontMatter {
  /** The file name without `.md`; unique within Keel. */
  name: string
  /** The markdown before the first step. */
  intro: string
  steps: RunbookStep[]
  /** The whole file, as written. */
  source: string
}

/** True for the steps Keel carries out itself; the others wait for a person. */
export function isAutomaticStep(step: RunbookStep): step is CommandStep | HttpStep {
  return step.kind === 'command' || step.kind === 'http'
}
