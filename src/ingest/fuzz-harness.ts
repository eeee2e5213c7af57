import fc from 'fast-check'
import { expect } from 'vitest'
import type { ApiHarness } from '../api/api-harness.js'
import { expectWellFormed, contractContext } from './ingest.contract.js'
import type { IngestFormat } from './format.js'
import { chunkSeed } from '../../test/helpers/fast-check-seed.js'

// Test support for the *.fuzz.test.ts files; `npm run fuzz:ingest` raises the counts.

/** Parser runs per property: 2,000 in CI, FUZZ_RUNS (≥100,000 in `npm run fuzz:ingest`) else. */
export const fuzzRuns = Number(process.env.FUZZ_RUNS ?? 2_000)

/** Requests per format through the HTTP layer. */
export const httpFuzzRuns = Number(process.env.FUZZ_HTTP_RUNS ?? 300)

type Json = unknown
type Key = string | number

function pathsOf(value: Json, prefix: Key[] = [], out: Key[][] = []): Key[][] {
  out.push(prefix)
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out))
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out)
  }
  return out
}

function getAt(doc: Json, path: Key[]): Json {
  let value = doc
  for (const key of path) value = (value as Record<Key, Json>)[key]
  return value
}

interface Mutation {
  pick: number
  op: 'delete' | 'replace' | 'add' | 'stringify' | 'wrap' | 'empty' | 'number'
  value: Json
  name: string
}

function applyMutation(doc: Json, frozen: Mutation): Json {
  // fast-check may freeze what it generates; later mutations edit it in place.
  const m = { ...frozen, value: structuredClone(frozen.value) }
  const paths = pathsOf(doc)
  const path = paths[m.pick % paths.length] as Key[]
  const current = getAt(doc, path)
  let next: Json
  switch (m.op) {
    case 'delete':
      next = undefined
      break
    case 'replace':
      next = m.value
      break
    case 'add':
      if (Array.isArray(current)) next = [...current, m.value]
      else if (current !== null && typeof current === 'object') {
        next = Object.assign({}, current)
        Object.defineProperty(next, m.name, {
          value: m.value,
          enumerable: true,
          writable: true,
          configurable: true,
        })
      } else next = m.value
      break
    case 'stringify':
      next = JSON.stringify(current) ?? ''
      break
    case 'wrap':
      next = [current]
      break
    case 'empty':
      next = typeof current === 'string' ? '' : Array.isArray(current) ? [] : {}
      break
    case 'number':
      next = typeof current === 'string' ? Number(current.length) : -1
      break
  }
  if (path.length === 0) return next
  const parent = getAt(doc, path.slice(0, -1)) as Record<Key, Json>
  const last = path[path.length - 1] as Key
  if (next === undefined) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1)
    else delete parent[last]
  } else {
    parent[last] = next
  }
  return doc
}

const labelishNames = [
  'alertname',
  'labels',
  'annotations',
  'status',
  'startsAt',
  'endsAt',
  'alerts',
  'version',
  'routing_key',
  'dedup_key',
  'event_action',
  'payload',
  'summary',
  'severity',
  '__proto__',
  'constructor',
  '',
]

/** Arbitrary JSON with unicode, lone surrogates and NUL characters in keys and strings. */
export const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }),
)

/** Valid payloads with one to four random edits: deletions, replacements, extra fields. */
export function mutatedPayloads(seeds: readonly Json[]): fc.Arbitrary<Json> {
  const mutation = fc.record({
    pick: fc.nat(),
    op: fc.constantFrom<Mutation['op']>(
      'delete',
      'replace',
      'add',
      'stringify',
      'wrap',
      'empty',
      'number',
    ),
    value: anyJson,
    name: fc.oneof(fc.constantFrom(...labelishNames), fc.string({ unit: 'binary' })),
  })
  return fc
    .record({
      seed: fc.constantFrom(...seeds),
      mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
    })
    .map(({ seed, mutations }) =>
      mutations.reduce<Json>((doc, m) => applyMutation(doc, m), structuredClone(seed)),
    )
}

/**
 * Asserts the parser never throws and every outcome is well formed, over `runs` inputs. Runs go
 * in chunks with a macrotask between them, so a long `fuzz:ingest` run does not starve the test
 * worker's own messaging.
 */
export async function fuzzParser(
  format: IngestFormat,
  inputs: fc.Arbitrary<Json>,
  runs = fuzzRuns,
): Promise<void> {
  const property = fc.property(
    inputs,
    fc.integer({ min: 0, max: 4_102_444_800_000 }),
    (input, now) => {
      expectWellFormed(format.parse(input, { ...contractContext, now }), format)
    },
  )
  const chunk = 5_000
  for (let done = 0; done < runs; done += chunk) {
    const seed = chunkSeed(done / chunk)
    fc.assert(property, {
      numRuns: Math.min(chunk, runs - done),
      ...(seed === undefined ? {} : { seed }),
    })
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** A field path as `fieldPath` writes it, at the start of a message and followed by a space. */
const leadingPath =
  /^(?:body|(?:[A-Za-z_]\w*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])(?:\.[A-Za-z_]\w*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*) /

/** A raw request body: JSON text of a payload, or text that is not JSON at all. */
export function rawBodies(payloads: fc.Arbitrary<Json>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: payloads.map((p) => JSON.stringify(p) ?? '') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }).map((text) => text.slice(0, -1)) },
  )
}

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  undefined,
)

/** The error messages of a 4xx body, in Keel's shape or PagerDuty's. */
function errorMessages(body: unknown): { paths: string[]; messages: string[] } {
  const keel = body as {
    error?: { message?: string; details?: { path: string; message: string }[] }
  }
  if (keel.error) {
    const details = keel.error.details ?? []
    return {
      paths: details.map((d) => d.path),
      messages: details.length > 0 ? details.map((d) => d.message) : [keel.error.message ?? ''],
    }
  }
  const pd = body as { errors?: string[] }
  return { paths: [], messages: pd.errors ?? [] }
}

async function storedEvents(h: ApiHarness): Promise<number> {
  const row = await h.store.db
    .selectFrom('ingest_events')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/**
 * Sends `runs` fuzzed bodies through fastify to `url`: none may answer 5xx, and every 400 must
 * carry messages that name a field (Keel's details have paths the messages start with). Nothing
 * accepted may be lost: a request that is not answered 2xx stores no ingest event, and one that
 * is stores exactly as many as `acceptedEvents` reads from its answer, when given.
 */
export async function fuzzHttp(
  h: ApiHarness,
  request: {
    url: string
    headers?: Record<string, string>
    acceptedEvents?: (body: unknown) => number
  },
  bodies: fc.Arbitrary<string>,
  runs = httpFuzzRuns,
): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {}
  await fc.assert(
    fc.asyncProperty(bodies, contentTypes, async (payload, contentType) => {
      const before = await storedEvents(h)
      // PagerDuty's limit refills with time: keep the fuzz under it.
      h.clock.advance(1_000)
      const response = await h.app.inject({
        method: 'POST',
        url: request.url,
        payload,
        headers: {
          ...request.headers,
          ...(contentType ? { 'content-type': contentType } : {}),
        },
      })
      statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1
      expect(response.statusCode, response.body).toBeLessThan(500)
      const stored = (await storedEvents(h)) - before
      if (response.statusCode < 200 || response.statusCode >= 300) {
        expect(stored, `a ${response.statusCode} stored events: ${response.body}`).toBe(0)
      } else if (request.acceptedEvents !== undefined) {
        const accepted = request.acceptedEvents(response.json())
        expect(stored, `accepted ${accepted} events: ${response.body}`).toBe(accepted)
      }
      if (response.statusCode >= 400) {
        const { paths, messages } = errorMessages(response.json())
        expect(messages.length, response.body).toBeGreaterThan(0)
        for (const message of messages) expect(message.length).toBeGreaterThan(10)
        if (response.statusCode === 400) {
          // A rejection starts with the field it is about: `body`, `alerts[0].labels`, `[1].endsAt`.
          for (const message of messages) expect(message).toMatch(leadingPath)
          paths.forEach((path, i) => expect(messages[i]?.startsWith(path)).toBe(true))
        }
      }
    }),
    { numRuns: runs },
  )
  return statuses
}
