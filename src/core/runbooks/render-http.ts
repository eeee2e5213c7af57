import type { HttpStep } from './model.js'
import type { ParameterValues } from './parameters.js'

/** The exact request an HTTP step sends, after parameters are put in. */
export interface HttpRequestPlan {
  method: string
  url: string
  headers: Record<string, string>
  body?: string
}

/** The request, or why it cannot be built. */
export type RenderHttpResult =
  { ok: true; request: HttpRequestPlan } | { ok: false; reason: string }

const placeholder = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g

function substitute(
  text: string,
  values: ParameterValues,
  encode: (value: string) => string,
  missing: string[],
): string {
  return text.replace(placeholder, (whole, name: string) => {
    if (!Object.hasOwn(values, name)) {
      missing.push(name)
      return whole
    }
    return encode(values[name] as string)
  })
}

function substituteJson(value: unknown, values: ParameterValues, missing: string[]): unknown {
  if (typeof value === 'string') return substitute(value, values, (v) => v, missing)
  if (Array.isArray(value)) return value.map((v) => substituteJson(v, values, missing))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteJson(v, values, missing)]),
    )
  }
  return value
}

/**
 * Builds an HTTP step's request. `{{NAME}}` in the URL becomes the percent-encoded value, in a
 * header value the value itself (refused when it holds a line break), and in the strings of a
 * YAML/JSON body the value, which JSON encoding then escapes. A string body is sent as written.
 */
export function renderHttpRequest(step: HttpStep, values: ParameterValues): RenderHttpResult {
  const missing: string[] = []
  const url = substitute(step.url, values, encodeURIComponent, missing)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(step.headers)) {
    const rendered = substitute(value, values, (v) => v, missing)
    if (/[\r\n\0]/.test(rendered)) {
      return {
        ok: false,
        reason: `step \`${step.id}\`: header ${name} would contain a line break from a parameter; restrict that parameter with a \`pattern\``,
      }
    }
    headers[name] = rendered
  }
  let body: string | undefined
  if (typeof step.body === 'string') body = step.body
  else if (step.body !== undefined) {
    body = JSON.stringify(substituteJson(step.body, values, missing))
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json'
    }
  }
  if (missing.length > 0) {
    return {
      ok: false,
      reason: `step \`${step.id}\` uses {{${missing[0]}}}, which is no parameter of this runbook; declare it under \`parameters\``,
    }
  }
  return {
    ok: true,
    request: { method: step.method, url, headers, ...(body !== undefined ? { body } : {}) },
  }
}
