import type { Runbook, RunbookParameter } from './model.js'

/** Parameter values as the runner passes them: strings, one per declared parameter. */
export type ParameterValues = Record<string, string>

/** Validated values, or one message per problem naming the parameter and the fix. */
export type ResolveParametersResult =
  { ok: true; values: ParameterValues } | { ok: false; issues: string[] }

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'boolean') return String(value)
  return undefined
}

function checkValue(parameter: RunbookParameter, text: string, where: string): string | undefined {
  // A refusal is shown and logged: a secret's value is never repeated in it.
  const got = parameter.secret
    ? 'got another value (not shown: the parameter is secret)'
    : `got ${JSON.stringify(text)}`
  // The operating system cannot put a NUL byte into an environment variable.
  if (text.includes('\0')) return `${where} contains a NUL byte; remove it`
  switch (parameter.type) {
    case 'number':
      if (text.trim() === '' || !Number.isFinite(Number(text))) {
        return `${where} must be a number, ${got}`
      }
      break
    case 'boolean':
      if (text !== 'true' && text !== 'false') {
        return `${where} must be true or false, ${got}`
      }
      break
    case 'enum':
      if (!(parameter.values ?? []).includes(text)) {
        return `${where} must be one of ${(parameter.values ?? []).join(', ')}, ${got}`
      }
      break
    case 'string':
      break
  }
  if (
    parameter.pattern !== undefined &&
    !new RegExp(`^(?:${parameter.pattern})$`, 'u').test(text)
  ) {
    return `${where} must match /${parameter.pattern}/, ${got}`
  }
  return undefined
}

/**
 * Checks given parameter values against a runbook's declarations and fills in defaults; unknown
 * names, missing required values and values of the wrong type are all reported at once.
 */
export function resolveParameters(
  runbook: Pick<Runbook, 'name' | 'parameters'>,
  given: Record<string, unknown>,
): ResolveParametersResult {
  const issues: string[] = []
  const values: ParameterValues = {}
  const declared = new Map(runbook.parameters.map((p) => [p.name, p]))
  for (const name of Object.keys(given)) {
    if (!declared.has(name)) {
      const known = [...declared.keys()]
      issues.push(
        `runbook ${runbook.name}: unknown parameter ${JSON.stringify(name)}; ${known.length === 0 ? 'it takes no parameters' : `it takes ${known.join(', ')}`}`,
      )
    }
  }
  for (const parameter of runbook.parameters) {
    const where = `runbook ${runbook.name}: parameter ${parameter.name}`
    const raw = Object.hasOwn(given, parameter.name) ? given[parameter.name] : undefined
    if (raw === undefined || raw === null) {
      if (parameter.default !== undefined) {
        values[parameter.name] = String(parameter.default)
        continue
      }
      if (parameter.required) {
        issues.push(`${where} is required; pass it (--param ${parameter.name}=…)`)
        continue
      }
      values[parameter.name] = ''
      continue
    }
    const text = asText(raw)
    if (text === undefined) {
      issues.push(`${where} must be a string, number or boolean, got ${typeof raw}`)
      continue
    }
    if (text === '' && parameter.required) {
      issues.push(`${where} is required and may not be empty; pass a value`)
      continue
    }
    const problem = checkValue(parameter, text, where)
    if (problem) issues.push(problem)
    else values[parameter.name] = text
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, values }
}
