import type { Runbook } from './model.js'
import type { ParameterValues } from './parameters.js'

/** What a secret parameter's value is shown as, everywhere. */
export const redactedValue = '<redacted>'

/** The names of the parameters a runbook marks `secret: true`. */
export function secretParameterNames(runbook: Pick<Runbook, 'parameters'>): Set<string> {
  return new Set(runbook.parameters.filter((p) => p.secret).map((p) => p.name))
}

/** A copy of parameter values with each secret one replaced by `<redacted>`. */
export function redactParameters(
  values: Readonly<Record<string, string>>,
  secrets: ReadonlySet<string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [
      name,
      secrets.has(name) && value !== '' ? redactedValue : value,
    ]),
  )
}

/** Turns a stream of text into the same text with every secret value replaced. */
export interface SecretRedactor {
  /** The text that is safe to show so far; a possible start of a secret is held back. */
  push(chunk: string): string
  /** The text still held back, redacted, when the stream ends. */
  end(): string
}

/**
 * A redactor for a stream of output: each occurrence of a value is replaced by `<redacted>`,
 * also when a value arrives split over two chunks (the last `longest - 1` characters wait for
 * the next chunk). Values shorter than 4 characters are left alone: replacing `1` or `on`
 * everywhere would garble the output and hide nothing.
 */
export function secretRedactor(values: Iterable<string>): SecretRedactor {
  const secrets = [...new Set(values)]
    .filter((v) => v.length >= 4)
    .sort((a, b) => b.length - a.length)
  const longest = secrets[0]?.length ?? 0
  const replace = (text: string) =>
    secrets.reduce((out, secret) => out.split(secret).join(redactedValue), text)
  let pending = ''
  return {
    push(chunk) {
      if (longest === 0) return chunk
      const text = replace(pending + chunk)
      // Whatever could still become a secret with the next chunk waits for it.
      const keep = Math.min(longest - 1, text.length)
      pending = text.slice(text.length - keep)
      return text.slice(0, text.length - keep)
    },
    end() {
      const rest = replace(pending)
      pending = ''
      return rest
    },
  }
}

/** Replaces every secret value in a finished text (a response body, a summary). */
export function redactSecrets(text: string, values: Iterable<string>): string {
  const redactor = secretRedactor(values)
  return redactor.push(text) + redactor.end()
}

/** The values of a run's secret parameters, for redacting what its steps print. */
export function secretValues(values: ParameterValues, secrets: ReadonlySet<string>): string[] {
  return Object.entries(values)
    .filter(([name, value]) => secrets.has(name) && value !== '')
    .map(([, value]) => value)
}
