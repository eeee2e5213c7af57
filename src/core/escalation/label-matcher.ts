import { matchesAll, parseMatcher, type Matcher } from '../alerts/index.js'

/** One label matcher: a label name, an operator and a value or anchored pattern. */
export type LabelMatcher = Matcher

/** A matcher that parsed, or why it did not. */
export type ParseLabelMatcherResult =
  | { ok: true; matcher: LabelMatcher; test: (labels: Record<string, string>) => boolean }
  | { ok: false; reason: string }

/**
 * Parses an Alertmanager matcher such as `severity="critical"` or `team=~"db|dba"` with the
 * matcher grammar of core/alerts (the routing tree's), so flat escalation routes and the tree
 * read matchers the same way: anchored Go regular expressions, a missing label reads as "".
 */
export function parseLabelMatcher(text: string): ParseLabelMatcherResult {
  const parsed = parseMatcher(text.trim())
  if (!parsed.ok) return { ok: false, reason: parsed.reason }
  const matcher = parsed.matcher
  return { ok: true, matcher, test: (labels) => matchesAll([matcher], labels) }
}
