// TODO(#3): use the label matchers of core/alerts once it exports them; this is the minimal
// subset routes need (Alertmanager's `name<op>"value"` with =, !=, =~ and !~).

/** One label matcher: a label name, an operator and a value or anchored pattern. */
export interface LabelMatcher {
  name: string
  operator: '=' | '!=' | '=~' | '!~'
  value: string
}

/** A matcher that parsed, or why it did not. */
export type ParseLabelMatcherResult =
  | { ok: true; matcher: LabelMatcher; test: (labels: Record<string, string>) => boolean }
  | { ok: false; reason: string }

const matcherPattern = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/

function unquote(text: string): string | undefined {
  if (!text.startsWith('"')) return text
  if (text.length < 2 || !text.endsWith('"')) return undefined
  try {
    return JSON.parse(text) as string
  } catch {
    return undefined
  }
}

/**
 * Parses an Alertmanager matcher such as `severity="critical"` or `team=~"db|dba"`. Regular
 * expressions are anchored at both ends, as Alertmanager does, and a missing label reads as "".
 */
export function parseLabelMatcher(text: string): ParseLabelMatcherResult {
  const match = matcherPattern.exec(text)
  const fix = 'write a matcher as name="value", name!="value", name=~"regex" or name!~"regex"'
  if (!match) return { ok: false, reason: `${JSON.stringify(text)} is not a matcher; ${fix}` }
  const [, name, operator, quoted] = match as unknown as [
    string,
    string,
    LabelMatcher['operator'],
    string,
  ]
  const value = unquote(quoted)
  if (value === undefined) {
    return {
      ok: false,
      reason: `the value of ${JSON.stringify(text)} has an unclosed quote; ${fix}`,
    }
  }
  let test: (actual: string) => boolean
  if (operator === '=~' || operator === '!~') {
    let pattern: RegExp
    try {
      pattern = new RegExp(`^(?:${value})$`)
    } catch (error) {
      return {
        ok: false,
        reason: `the pattern of ${JSON.stringify(text)} is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`,
      }
    }
    test = operator === '=~' ? (actual) => pattern.test(actual) : (actual) => !pattern.test(actual)
  } else {
    test = operator === '=' ? (actual) => actual === value : (actual) => actual !== value
  }
  return {
    ok: true,
    matcher: { name, operator, value },
    test: (labels) => test(labels[name] ?? ''),
  }
}
