import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  checkCoreSource,
  checkCoreSources,
  findDomainCycles,
  readCoreSources,
} from './helpers/core-rules.js'

const root = fileURLToPath(new URL('..', import.meta.url))

describe('the core dependency rules hold in this checkout', () => {
  const sources = readCoreSources(root)

  it('finds the core sources and leaves their tests out', () => {
    const files = sources.map((s) => s.file)
    expect(files).toContain('src/core/time.ts')
    expect(files).toContain('src/core/alerts/fingerprint.ts')
    expect(files.filter((f) => f.endsWith('.test.ts'))).toEqual([])
  })

  it('core imports only core, zod and luxon, through domain index files, without the clock or the environment', () => {
    expect(checkCoreSources(sources)).toEqual([])
  })
})

describe('checkCoreSource', () => {
  it.each([
    {
      name: 'an adapter package is refused',
      file: 'src/core/alerts/route.ts',
      source: "import Fastify from 'fastify'\n",
      problem:
        "src/core/alerts/route.ts:1 imports 'fastify'; core may import only src/core, zod and luxon",
    },
    {
      name: 'a node built-in is refused',
      file: 'src/core/checks/x.ts',
      source: "import { setTimeout } from 'node:timers/promises'\n",
      problem:
        "src/core/checks/x.ts:1 imports 'node:timers/promises'; core may import only src/core, zod and luxon",
    },
    {
      name: 'a scoped package is refused by its full name',
      file: 'src/core/checks/x.ts',
      source: "import type { Span } from '@opentelemetry/api'\n",
      problem:
        "src/core/checks/x.ts:1 imports '@opentelemetry/api'; core may import only src/core, zod and luxon",
    },
    {
      name: 'a re-export of a forbidden package is refused',
      file: 'src/core/alerts/index.ts',
      source: "export { sql } from 'kysely'\n",
      problem:
        "src/core/alerts/index.ts:1 imports 'kysely'; core may import only src/core, zod and luxon",
    },
    {
      name: 'a relative import of the store is refused with its resolved path',
      file: 'src/core/alerts/route.ts',
      source: "const a = 1\nimport { upsertAlertByFingerprint } from '../../store/alerts.js'\n",
      problem:
        "src/core/alerts/route.ts:2 imports '../../store/alerts.js' (src/store/alerts.js), which is outside src/core; core never imports an adapter",
    },
    {
      name: 'an import spread over several lines is found at its first line',
      file: 'src/core/alerts/route.ts',
      source: "\n\nimport {\n  type Db,\n  openStore,\n} from '../../store/dialect.js'\n",
      problem:
        "src/core/alerts/route.ts:3 imports '../../store/dialect.js' (src/store/dialect.js), which is outside src/core; core never imports an adapter",
    },
    {
      name: 'a dynamic import of an adapter is refused',
      file: 'src/core/checks/x.ts',
      source: "export async function f() {\n  return import('undici')\n}\n",
      problem:
        "src/core/checks/x.ts:2 imports 'undici'; core may import only src/core, zod and luxon",
    },
    {
      name: 'a computed dynamic import is refused',
      file: 'src/core/checks/x.ts',
      source: 'export async function f(name: string) {\n  return import(name)\n}\n',
      problem:
        'src/core/checks/x.ts:2 imports a computed module path; core imports must be string literals',
    },
    {
      name: "another domain's internal file is refused, naming its index",
      file: 'src/core/alerts/monitor-alert.ts',
      source: "import type { StateTransition } from '../checks/monitor-state.js'\n",
      problem:
        "src/core/alerts/monitor-alert.ts:1 imports '../checks/monitor-state.js', an internal file of core/checks; import '../checks/index.js' instead",
    },
    {
      name: "a shared top-level file reaching into a domain's internals is refused",
      file: 'src/core/time.ts',
      source: "export { fingerprint } from './alerts/fingerprint.js'\n",
      problem:
        "src/core/time.ts:1 imports './alerts/fingerprint.js', an internal file of core/alerts; import './alerts/index.js' instead",
    },
    {
      name: 'the clock is refused',
      file: 'src/core/checks/x.ts',
      source: 'export function f() {\n  return Date.now() + 1\n}\n',
      problem:
        'src/core/checks/x.ts:2 uses Date.now(); core never reads the clock; take `now` as an argument',
    },
    {
      name: 'a Date without arguments is refused',
      file: 'src/core/checks/x.ts',
      source: 'export const started = new Date()\n',
      problem:
        'src/core/checks/x.ts:1 uses new Date(); core never reads the clock; take `now` as an argument',
    },
    {
      name: 'a Date without parentheses is refused',
      file: 'src/core/checks/x.ts',
      source: 'export const started = new Date\n',
      problem:
        'src/core/checks/x.ts:1 uses new Date(); core never reads the clock; take `now` as an argument',
    },
    {
      name: 'the environment is refused',
      file: 'src/core/config/x.ts',
      source: "export const url = process.env.KEEL_URL ?? ''\n",
      problem:
        'src/core/config/x.ts:1 uses process.env; core never reads the environment; pass the value in',
    },
    {
      name: 'the environment read by index is refused',
      file: 'src/core/config/x.ts',
      source: "export const env = process['env']\n",
      problem:
        'src/core/config/x.ts:1 uses process.env; core never reads the environment; pass the value in',
    },
  ])('$name', ({ file, source, problem }) => {
    expect(checkCoreSource({ file, source })).toEqual([problem])
  })

  it.each([
    { name: 'zod is allowed', file: 'src/core/checks/x.ts', source: "import { z } from 'zod'\n" },
    {
      name: 'a zod subpath is allowed',
      file: 'src/core/checks/x.ts',
      source: "import { z } from 'zod/v4'\n",
    },
    {
      name: 'luxon is allowed',
      file: 'src/core/oncall/x.ts',
      source: "import { DateTime } from 'luxon'\n",
    },
    {
      name: 'a file of the same domain is allowed',
      file: 'src/core/checks/index.ts',
      source: "export { applyCheckOutcome } from './monitor-state.js'\n",
    },
    {
      name: "another domain's index is allowed",
      file: 'src/core/alerts/monitor-alert.ts',
      source: "import type { StateTransition } from '../checks/index.js'\n",
    },
    {
      name: 'the shared time and errors files are allowed from a domain',
      file: 'src/core/alerts/x.ts',
      source:
        "import type { Instant } from '../time.js'\nimport { InputError } from '../errors.js'\n",
    },
    {
      name: 'a Date built from an instant is allowed',
      file: 'src/core/oncall/x.ts',
      source: 'export const f = (at: number) => new Date(at).toISOString()\n',
    },
    {
      name: 'Date.UTC is not the clock',
      file: 'src/core/oncall/x.ts',
      source: 'export const epoch = Date.UTC(2026, 0, 1)\n',
    },
    {
      name: 'the banned words in comments and strings do not count',
      file: 'src/core/checks/x.ts',
      source:
        "/** Never call Date.now() or new Date() here, nor read process.env. */\n// import x from 'fastify'\nexport const hint = \"import x from 'pg'; Date.now()\"\n",
    },
  ])('$name', ({ file, source }) => {
    expect(checkCoreSource({ file, source })).toEqual([])
  })
})

describe('findDomainCycles', () => {
  it.each([
    {
      name: 'two domains importing each other are a cycle',
      sources: [
        { file: 'src/core/alerts/a.ts', source: "import type { X } from '../checks/index.js'\n" },
        { file: 'src/core/checks/b.ts', source: "import type { Y } from '../alerts/index.js'\n" },
      ],
      cycles: ['core domains import each other in a cycle: alerts → checks → alerts'],
    },
    {
      name: 'a cycle through three domains is reported once',
      sources: [
        { file: 'src/core/oncall/a.ts', source: "export { x } from '../incidents/index.js'\n" },
        { file: 'src/core/incidents/b.ts', source: "export { y } from '../alerts/index.js'\n" },
        { file: 'src/core/alerts/c.ts', source: "export { z } from '../oncall/index.js'\n" },
      ],
      cycles: ['core domains import each other in a cycle: alerts → oncall → incidents → alerts'],
    },
    {
      name: 'one-way imports and shared files make no cycle',
      sources: [
        { file: 'src/core/alerts/a.ts', source: "import type { X } from '../checks/index.js'\n" },
        { file: 'src/core/checks/b.ts', source: "import type { Instant } from '../time.js'\n" },
        { file: 'src/core/time.ts', source: "import type { X } from './checks/index.js'\n" },
      ],
      cycles: [],
    },
  ])('$name', ({ sources, cycles }) => {
    expect(findDomainCycles(sources)).toEqual(cycles)
  })
})
