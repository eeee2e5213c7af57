import { incidentsSectionSchema, type IncidentsSection } from '../config/incidents-section.js'
import { InputError } from '../core/errors.js'
import { defaultIncidentGroupBy } from '../core/incidents/index.js'
import type { IncidentPolicy } from '../engine/incidents.js'
import type { Executor } from '../store/dialect.js'
import { getMeta, setMeta } from '../store/meta.js'

const key = 'config:incidents'

/** The stored `incidents` section as written (before defaults); empty before any apply. */
export async function readIncidentsSection(db: Executor): Promise<Record<string, unknown>> {
  const text = await getMeta(db, key)
  return text === undefined ? {} : (JSON.parse(text) as Record<string, unknown>)
}

/** Throws an InputError naming the field (`incidents.ackTimeout`) when the section does not validate. */
export function validateIncidentsSection(section: unknown): IncidentsSection {
  const parsed = incidentsSectionSchema.safeParse(section ?? {})
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({
      path: ['incidents', ...issue.path].join('.'),
      message: issue.message,
    }))
    const first = details[0]
    throw new InputError(`${first?.path ?? 'incidents'}: ${first?.message ?? 'is invalid'}`, {
      details,
    })
  }
  return parsed.data
}

/**
 * Stores the `incidents` section as written (inside the apply transaction) in `keel_meta`, so
 * every node opens incidents the same way and a reload takes effect without a restart.
 */
export async function writeIncidentsSection(
  db: Executor,
  section: Record<string, unknown>,
): Promise<void> {
  await setMeta(db, key, JSON.stringify(section))
}

let cache: { text: string; policy: IncidentPolicy } | undefined

/**
 * The incident policy of the applied `incidents` section (the defaults before any apply): how
 * alerts open incidents, whether those resolve with their alerts, and their acknowledgement
 * timeout. Parsed once per distinct stored document.
 */
export async function readIncidentPolicy(db: Executor): Promise<IncidentPolicy> {
  const text = (await getMeta(db, key)) ?? '{}'
  if (cache?.text === text) return cache.policy
  const parsed = incidentsSectionSchema.safeParse(JSON.parse(text))
  if (!parsed.success) {
    throw new Error(
      `the stored incidents configuration does not validate (${parsed.error.issues[0]?.message ?? ''}); run keel apply with this version of Keel`,
    )
  }
  const policy: IncidentPolicy = {
    groupBy: defaultIncidentGroupBy,
    autoResolve: parsed.data.autoResolve,
    ...(parsed.data.ackTimeout > 0 ? { ackTimeoutMs: parsed.data.ackTimeout } : {}),
  }
  cache = { text, policy }
  return policy
}
