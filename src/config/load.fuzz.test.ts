import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { anyJson, mutatedPayloads } from '../ingest/fuzz-harness.js'
import { parseConfigText, type LoadResult } from './load.js'
import { chunkSeed } from '../../test/helpers/fast-check-seed.js'

/** Configs per property: a bounded number in CI, FUZZ_RUNS (≥ 100,000) in `npm run fuzz`. */
const runs = Number(process.env.FUZZ_RUNS ?? 300)

const example = parse(readFileSync('examples/keel.yaml', 'utf8')) as unknown
const env = { DATABASE_URL: 'postgres://keel@db/keel', SLACK_URL: 'https://hooks.example.org/x' }

function expectWellFormed(result: LoadResult): void {
  if (result.ok) return
  expect(result.issues.length).toBeGreaterThan(0)
  for (const issue of result.issues) {
    expect(typeof issue.path).toBe('string')
    expect(issue.message.trim()).not.toBe('')
    // An issue with no path is about the text as a whole and then says where in it.
    if (issue.path === '') expect(issue.line !== undefined || issue.message.length >= 10).toBe(true)
  }
}

async function check(texts: fc.Arbitrary<string>): Promise<void> {
  const property = fc.property(texts, (text) => {
    expectWellFormed(parseConfigText(text, { env, baseDir: 'examples' }))
  })
  for (let done = 0; done < runs; done += 200) {
    const seed = chunkSeed(done / 200)
    fc.assert(property, {
      numRuns: Math.min(200, runs - done),
      ...(seed === undefined ? {} : { seed }),
    })
    await new Promise((resolve) => setImmediate(resolve))
  }
}

const asYaml = (value: unknown) => {
  try {
    return (stringify(value) as string | undefined) ?? ''
  } catch {
    return JSON.stringify(value) ?? ''
  }
}

/** Every path to a map in `value` (the top level included): where an id or key could go. */
function mapPaths(value: unknown, at: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return []
  return [at, ...Object.entries(value).flatMap(([key, child]) => mapPaths(child, [...at, key]))]
}

/** The value with its maps as `Map`s, so `stringify` writes any key, `__proto__` included. */
function asMaps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asMaps)
  if (typeof value !== 'object' || value === null) return value
  return new Map(Object.entries(value).map(([key, child]) => [key, asMaps(child)]))
}

const examplePaths = mapPaths(example)
const prototypeNames = () => Object.getOwnPropertyNames(Object.prototype).sort()

describe('the config loader under fuzzing', () => {
  it('accepts the example it is mutated from', () => {
    const result = parseConfigText(readFileSync('examples/keel.yaml', 'utf8'), {
      env,
      baseDir: 'examples',
    })
    expect(result.ok ? [] : result.issues).toEqual([])
  })

  it('never throws on mutations of examples/keel.yaml, and every issue has a path and a message', async () => {
    await check(mutatedPayloads([example]).map(asYaml))
  }, 1_800_000)

  it('never throws on arbitrary YAML or JSON documents', async () => {
    await check(
      fc.oneof(
        anyJson.map(asYaml),
        anyJson.map((v) => JSON.stringify(v) ?? ''),
        fc.record({ monitors: fc.dictionary(fc.string(), anyJson) }).map(asYaml),
      ),
    )
  }, 1_800_000)

  it('refuses __proto__, constructor and prototype as any map key of the example, naming the path, and pollutes nothing', () => {
    const before = prototypeNames()
    const property = fc.property(
      fc.constantFrom(...examplePaths),
      fc.constantFrom('__proto__', 'constructor', 'prototype'),
      anyJson,
      (at, key, value) => {
        const root = asMaps(example) as Map<string, unknown>
        let node = root
        for (const segment of at) node = node.get(segment) as Map<string, unknown>
        node.set(key, value)
        const result = parseConfigText(stringify(root), { env, baseDir: 'examples' })
        expect(result.ok).toBe(false)
        if (result.ok) return
        expect(result.issues.map((issue) => issue.path)).toContain([...at, key].join('.'))
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        expect(prototypeNames()).toEqual(before)
      },
    )
    fc.assert(property, { numRuns: Math.min(runs, 2_000) })
  }, 1_800_000)

  it('never throws on text that is hardly YAML at all', async () => {
    await check(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.constantFrom(
          'a: &x [*x]',
          'a: !!binary x',
          '{',
          'monitors:\n  - x',
          '${',
          '$${X}',
          'x: ${UNSET}',
        ),
      ),
    )
  }, 1_800_000)
})
