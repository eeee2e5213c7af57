import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Instant } from '../core/time.js'
import type { IngestFormat, IngestItem, ParseOutcome } from './format.js'

/** A payload a real sender produced (or the sender's documented example), read from fixtures/. */
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'))
}

/** A payload the format must accept, and the actions it must turn into. */
export interface CapturedPayload {
  name: string
  body: unknown
  actions: IngestItem['action'][]
  now?: Instant
}

/** A payload the format must refuse, naming `path` among its issues. */
export interface RejectedPayload {
  name: string
  body: unknown
  path: string
}

/** The integration and clock every contract parse runs with. */
export const contractContext = {
  now: Date.UTC(2024, 4, 1, 12, 0, 0),
  integration: { id: 'contract' },
}

/** Checks what every parse outcome must satisfy, whatever the input. */
export function expectWellFormed(outcome: ParseOutcome, format: IngestFormat): void {
  if (outcome.ok) {
    for (const item of outcome.items) {
      expect(item.fingerprint).toMatch(/^[0-9a-f]{16}$/)
      expect(Number.isFinite(item.at)).toBe(true)
      expect(['fire', 'resolve', 'acknowledge']).toContain(item.action)
      for (const value of Object.values(item.labels ?? {})) expect(typeof value).toBe('string')
      for (const value of Object.values(item.annotations ?? {})) expect(typeof value).toBe('string')
      if (item.endsAt !== undefined) {
        expect(Number.isFinite(item.endsAt)).toBe(true)
        expect(format.schedulesEnds).toBe(true)
      }
      // A key sent in the body is a secret: the stored event must not hold it.
      if (format.keyInBody) expect(format.keyInBody(item.payload)).toBeUndefined()
    }
    return
  }
  expect(outcome.issues.length).toBeGreaterThan(0)
  for (const issue of outcome.issues) {
    expect(issue.path).not.toBe('')
    expect(issue.message.startsWith(issue.path), issue.message).toBe(true)
    expect(issue.message.length).toBeGreaterThan(issue.path.length + 5)
  }
}

/**
 * The ingest format contract: captured payloads of real senders parse into the expected actions,
 * unknown fields are tolerated, broken payloads are refused with issues that name the field, and
 * the replies have the statuses the senders rely on.
 */
export function runIngestFormatContract(
  format: IngestFormat,
  cases: { captured: CapturedPayload[]; rejected: RejectedPayload[] },
): void {
  describe(`ingest format contract: ${format.name}`, () => {
    it('declares routes that say where the key is', () => {
      expect(format.routes.length).toBeGreaterThan(0)
      for (const route of format.routes) {
        expect(route.url.startsWith('/')).toBe(true)
        expect(route.url.includes(':key')).toBe(route.key === 'path')
      }
      expect(format.bodyLimitBytes).toBeGreaterThan(0)
      expect(typeof format.schedulesEnds).toBe('boolean')
      if (format.routes.some((r) => r.key === 'body')) expect(format.keyInBody).toBeDefined()
    })

    it.each(cases.captured)('accepts $name', ({ body, actions, now }) => {
      const outcome = format.parse(body, { ...contractContext, now: now ?? contractContext.now })
      expect(outcome.ok ? 'ok' : outcome.issues).toBe('ok')
      expectWellFormed(outcome, format)
      if (!outcome.ok) return
      expect(outcome.items.map((i) => i.action)).toEqual(actions)
      const again = format.parse(body, { ...contractContext, now: now ?? contractContext.now })
      expect(again.ok && again.items.map((i) => i.fingerprint)).toEqual(
        outcome.items.map((i) => i.fingerprint),
      )
    })

    it.each(cases.captured.filter((c) => c.body !== null && typeof c.body === 'object'))(
      'tolerates unknown fields in $name',
      ({ body, actions, now }) => {
        const extended = Array.isArray(body)
          ? body.map((entry: object) => ({ ...entry, added_by_a_newer_sender: { x: 1 } }))
          : { ...(body as object), added_by_a_newer_sender: [1, 'two'] }
        const outcome = format.parse(extended, {
          ...contractContext,
          now: now ?? contractContext.now,
        })
        expect(outcome.ok && outcome.items.map((i) => i.action)).toEqual(actions)
      },
    )

    it.each(cases.rejected)('refuses $name, naming $path', ({ body, path }) => {
      const outcome = format.parse(body, contractContext)
      expectWellFormed(outcome, format)
      expect(outcome.ok).toBe(false)
      if (outcome.ok) return
      expect(outcome.issues.map((i) => i.path)).toContain(path)
    })

    it('answers with the statuses its senders expect', () => {
      expect(format.accepted({ events: [] }).status).toBeGreaterThanOrEqual(200)
      expect(format.accepted({ events: [] }).status).toBeLessThan(300)
      const rejected = format.rejected([{ path: 'x', message: 'x is required' }])
      expect(rejected.status).toBe(400)
      expect(JSON.stringify(rejected.body)).toContain('x is required')
      for (const status of [401, 403, 404, 429] as const) {
        const refused = format.refused({ status, name: 'E', message: 'why and what to do' })
        expect(refused.status).toBe(status)
        expect(JSON.stringify(refused.body)).toContain('why and what to do')
      }
      const tooLarge = format.refused({ status: 413, name: 'E', message: 'too large' })
      expect([400, 413]).toContain(tooLarge.status)
    })
  })
}
