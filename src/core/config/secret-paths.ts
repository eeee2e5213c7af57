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

/**
 * Where the password of a URL's userinfo lies (`https://user:secret@host/` → `secret`), as
 * `[start, end)` offsets, or undefined when `text` is not such a URL. The authority ends at the
 * first `/`, `?` or `#`, and its userinfo at the last `@` in it, as the WHATWG URL parser reads it.
 */
export function userinfoPasswordSpan(text: string): [number, number] | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)
  if (!scheme) return undefined
  const start = scheme[0].length
  const end = text.slice(start).search(/[/?#]/)
  const authority = end === -1 ? text.slice(start) : text.slice(start, start + end)
  const at = authority.lastIndexOf('@')
  const colon = authority.indexOf(':')
  // An empty password (`user:@host`) hides nothing, so there is nothing to redact.
  if (at === -1 || colon === -1 || colon + 1 >= at) return undefined
  return [start + colon + 1, start + at]
}

/** `text` with the password of its URL userinfo replaced by `placeholder`; other text unchanged. */
export function redactUserinfoPassword(text: string, placeholder: string): string {
  const span = userinfoPasswordSpan(text)
  return span ? `${text.slice(0, span[0])}${placeholder}${text.slice(span[1])}` : text
}
