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
