/**
 * Keys that name JavaScript's prototype machinery. Keel keys maps by ids (monitors, channels,
 * users, teams, entities, …); one of these as an id could replace or reach `Object.prototype` in
 * code that builds objects from keys, so keel.yaml and the API refuse them as keys and ids.
 */
export const reservedKeys: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** The message for a reserved key or id, naming it and the fix. */
export function reservedKeyMessage(key: string): string {
  return `\`${key}\` cannot be a key or id: __proto__, constructor and prototype are reserved; rename it`
}

/** True when `key` may be used as a map key or id. */
export function isAllowedKey(key: string): boolean {
  return !reservedKeys.has(key)
}
