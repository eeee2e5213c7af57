import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createApiToken } from '../src/services/auth.js'
import { openStore, type StoreLocation } from '../src/store/dialect.js'
import {
  killKeelProcess,
  startKeelProcess,
  waitUntil,
  type KeelProcess,
} from './helpers/keel-process.js'
import { freshLocation, storeKinds } from './helpers/stores.js'

const secretRunbook = `---
title: Call the API with a token
parameters:
  - { name: API_TOKEN, secret: true, required: true }
  - { name: OUT, required: true }
---
## Step: call — Use the token
\`\`\`keel-command
run: |
  printf '%s' "$API_TOKEN" > "$OUT"
  tr '\\0' ' ' < /proc/$$/cmdline > "$OUT.argv"
  echo "calling with $API_TOKEN"
\`\`\`
`

describe.each(storeKinds)('a secret runbook parameter through keel serve on $name', (kind) => {
  const children: KeelProcess[] = []
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const child of children.splice(0)) await killKeelProcess(child)
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it.skipIf(kind.skipReason !== undefined)(
    'is in no API answer, audit row or stored row in clear, and the command gets it in its environment',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keel-runbook-secret-'))
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
      mkdirSync(join(dir, 'runbooks'))
      writeFileSync(join(dir, 'runbooks', 'call.md'), secretRunbook)
      const fresh = await freshLocation(kind.name)
      cleanups.push(fresh.drop)
      const location: StoreLocation =
        fresh.location.driver === 'sqlite'
          ? { driver: 'sqlite', path: join(dir, 'keel.db') }
          : fresh.location
      const storeLine =
        location.driver === 'sqlite'
          ? 'store: { driver: sqlite, path: keel.db }'
          : `store: { driver: postgres, url: "${location.url}", poolSize: 4 }`
      const configPath = join(dir, 'keel.yaml')
      writeFileSync(configPath, `${storeLine}\nrunbooks: { paths: [runbooks/] }\n`)
      const store = await openStore(location)
      cleanups.push(() => store.close())
      const { token } = await createApiToken(
        { db: store.db, clock: { now: () => Date.now() } },
        { name: 'secret-test', role: 'admin' },
      )
      const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
      const keel = await startKeelProcess(configPath, dir)
      children.push(keel)

      const value = `tok-${randomBytes(12).toString('hex')}`
      const out = join(dir, 'out')
      const answers: string[] = []
      const call = async (path: string, init: RequestInit = {}) => {
        const response = await fetch(`${keel.url}${path}`, { headers: auth, ...init })
        const text = await response.text()
        answers.push(text)
        return { status: response.status, text }
      }
      const plan = await call('/api/v1/runbooks/call/runs', {
        method: 'POST',
        body: JSON.stringify({ params: { API_TOKEN: value, OUT: out }, dryRun: true }),
      })
      expect(plan.status).toBe(200)
      expect(plan.text).toContain('<redacted>')
      const started = await call('/api/v1/runbooks/call/runs', {
        method: 'POST',
        body: JSON.stringify({ params: { API_TOKEN: value, OUT: out } }),
      })
      expect(started.status, started.text).toBe(201)
      const { id } = JSON.parse(started.text) as { id: number }
      await waitUntil(
        'the run to succeed',
        async () =>
          JSON.parse((await call(`/api/v1/runbook-runs/${id}`)).text).status === 'succeeded',
        30_000,
      )
      const detail = JSON.parse((await call(`/api/v1/runbook-runs/${id}`)).text) as {
        params: Record<string, string>
        steps: { output?: string }[]
      }
      expect(detail.params.API_TOKEN).toBe('<redacted>')
      expect(detail.steps[0]?.output).toContain('calling with <redacted>')
      await call('/api/v1/runbooks/call/runs')
      await call(`/api/v1/runbook-runs/${id}/output`)
      await call('/api/v1/runbooks/call')
      const audit = await call('/api/v1/audit?limit=500')
      expect(audit.status).toBe(200)
      expect(audit.text).toContain('runbook.start')
      for (const answer of answers) expect(answer).not.toContain(value)

      // The command had it in its environment, not in its argv.
      expect(readFileSync(out, 'utf8')).toBe(value)
      expect(readFileSync(`${out}.argv`, 'utf8')).not.toContain(value)
      // Stored sealed; no audit row or step row holds it in clear.
      const rows = [
        await store.db.selectFrom('runbook_runs').selectAll().execute(),
        await store.db.selectFrom('runbook_run_steps').selectAll().execute(),
        await store.db.selectFrom('audit_events').selectAll().execute(),
      ]
      for (const table of rows) expect(JSON.stringify(table)).not.toContain(value)
      const [run] = rows[0] as { params: string }[]
      expect(JSON.parse(run?.params ?? '{}').API_TOKEN).toMatch(/^enc:v1:/)
    },
    120_000,
  )
})
