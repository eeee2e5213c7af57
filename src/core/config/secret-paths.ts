function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A deep copy of `spec` with the value at each dotted path (`password`, `basicAuth.password`)
 * replaced by `placeholder` where present; one walk for every redaction, so nested secret
 * fields are redacted wherever top-level ones are.
 */
export function redactPaths<T>(spec: T, paths: readonly string[], placeholder: string): T {
  const copy = structuredClone(spec)
  for (const path of paths) {
    const keys = path.split('.')
    let holder: unknown = copy
    for (const key of keys.slice(0, -1)) holder = isRecord(holder) ? holder[key] : undefined
    const last = keys[keys.length - 1] as string
    if (isRecord(holder) && holder[last] !== undefined) holder[last] = placeholder
  }
  return copy
}
