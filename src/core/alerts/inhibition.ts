import { z } from 'zod'
import type { Labels } from './fingerprint.js'
import { createMatcher, labelValue, matchesAll, matchersSchema, type Matcher } from './matchers.js'

/**
 * Alertmanager's inhibit rule: a firing alert matching `sourceMatchers` mutes alerts matching
 * `targetMatchers` when both have the same value for every label in `equal`.
 */
export interface InhibitRule {
  sourceMatchers: readonly Matcher[]
  targetMatchers: readonly Matcher[]
  equal: readonly string[]
}

/** An alert that may inhibit others; resolved ones never do. */
export interface InhibitingAlert {
  labels: Labels
  status?: 'firing' | 'resolved'
}

/** Which rule and which source alert inhibit a target. */
export interface Inhibition<A extends InhibitingAlert = InhibitingAlert> {
  rule: InhibitRule
  source: A
}

function sameValues(a: Labels, b: Labels, names: readonly string[]): boolean {
  // A missing label reads as "", so two alerts both lacking it count as equal, as in Alertmanager.
  return names.every((name) => labelValue(a, name) === labelValue(b, name))
}

/**
 * Every (rule, source) pair inhibiting an alert with these labels, rules in order. As in
 * Alertmanager, when the target also matches the rule's source side, sources that also match
 * its target side are ignored, so an alert cannot inhibit itself, nor two such alerts each other.
 */
export function inhibitedBy<A extends InhibitingAlert>(
  labels: Labels,
  alerts: readonly A[],
  rules: readonly InhibitRule[],
): Inhibition<A>[] {
  const found: Inhibition<A>[] = []
  for (const rule of rules) {
    if (!matchesAll(rule.targetMatchers, labels)) continue
    const twoSided = matchesAll(rule.sourceMatchers, labels)
    for (const source of alerts) {
      if (source.status === 'resolved') continue
      if (!matchesAll(rule.sourceMatchers, source.labels)) continue
      if (!sameValues(source.labels, labels, rule.equal)) continue
      if (twoSided && matchesAll(rule.targetMatchers, source.labels)) continue
      found.push({ rule, source })
    }
  }
  return found
}

/** Whether a firing source alert inhibits an alert with these labels under any rule. */
export function isInhibited(
  labels: Labels,
  alerts: readonly InhibitingAlert[],
  rules: readonly InhibitRule[],
): boolean {
  return inhibitedBy(labels, alerts, rules).length > 0
}

const labelMap = z.record(z.string(), z.string()).optional()

/**
 * An inhibit rule in config, Alertmanager's `inhibit_rules` entry with camelCase keys; the
 * deprecated `sourceMatch`/`sourceMatchRe`/`targetMatch`/`targetMatchRe` maps still work.
 */
export const inhibitRuleSchema = z
  .object({
    sourceMatchers: matchersSchema.optional(),
    targetMatchers: matchersSchema.optional(),
    sourceMatch: labelMap,
    sourceMatchRe: labelMap,
    targetMatch: labelMap,
    targetMatchRe: labelMap,
    equal: z.array(z.string().min(1, '`equal` names must not be empty')).default([]),
  })
  .transform((input, ctx): InhibitRule => {
    const side = (prefix: 'source' | 'target', modern: Matcher[] | undefined): Matcher[] => {
      const all: Matcher[] = []
      for (const [field, operator] of [
        [`${prefix}Match`, '='],
        [`${prefix}MatchRe`, '=~'],
      ] as const) {
        for (const [name, value] of Object.entries(input[field] ?? {})) {
          const created = createMatcher(name, operator, value)
          if (created.ok) all.push(created.matcher)
          else {
            ctx.addIssue({
              code: 'custom',
              path: [field, name],
              message: `inhibit rule: \`${field}.${name}\`: ${created.reason}`,
            })
          }
        }
      }
      return [...all, ...(modern ?? [])]
    }
    return {
      sourceMatchers: side('source', input.sourceMatchers),
      targetMatchers: side('target', input.targetMatchers),
      equal: input.equal,
    }
  })

/** An inhibit rule as config gives it, before parsing. */
export type InhibitRuleInput = z.input<typeof inhibitRuleSchema>
