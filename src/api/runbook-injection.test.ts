import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isFinished, type RunStatus } from '../core/runbooks/index.js'
import { RunOutputHub, type RunOutputEvent } from '../services/runbooks.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { routeTable } from './route-guard.js'

/** A runbook whose only command prints a free-text parameter, as the runbook file says. */
function echoRunbook(dir: string): string {
  return `---
title: Echo a target
parameters: [{ name: TARGET, type: string, required: true }]
---
Prints the target.

## Step: echo — Echo it
\`\`\`keel-command
run: printf '%s\\n' "$TARGET" > '${join(dir, 'seen')}'
\`\`\`
`
}

describe.each(apiStoreKinds)(
  'what a runbook run executes, given API bodies, on $name',
  ({ kind }) => {
    let h: ApiHarness
    let dir: string
    let folder: string
    const hub = new RunOutputHub()
    const finished = new Map<number, () => void>()
    const states = new Map<number, RunStatus>()

    beforeAll(async () => {
      if (kind.skipReason) return
      dir = await mkdtemp(join(tmpdir(), 'keel-runbook-injection-'))
      folder = join(dir, 'runbooks')
      await mkdir(folder)
      await writeFile(join(folder, 'echo-target.md'), echoRunbook(dir))
      // A runbook file outside the configured folder: no API path may reach it.
      await writeFile(
        join(dir, 'outside.md'),
        echoRunbook(dir).replace('printf \'%s\\n\' "$TARGET"', `touch '${join(dir, 'pwned')}'`),
      )
      hub.subscribeAll((event: RunOutputEvent) => {
        if (event.type !== 'state') return
        states.set(event.runId, event.state.status)
        if (isFinished(event.state.status)) finished.get(event.runId)?.()
      })
      h = await startApiHarness(kind, { runbooks: { paths: [folder], hub } })
    }, 60_000)
    afterAll(async () => {
      await h?.close()
      if (dir) await rm(dir, { recursive: true, force: true })
    })

    const start = (payload: unknown, name = 'echo-target') =>
      h.app.inject({
        method: 'POST',
        url: `/api/v1/runbooks/${name}/runs`,
        headers: h.as('operator'),
        payload: payload as Record<string, unknown>,
      })

    /** Waits for the run to finish and gives its final status. */
    const settle = async (id: number) => {
      if (!isFinished(states.get(id) ?? 'running')) {
        await new Promise<void>((resolve) => finished.set(id, resolve))
      }
      return states.get(id)
    }

    it.skipIf(kind.skipReason)(
      'passes a parameter full of shell syntax to the command as data, never as shell text',
      async () => {
        const hostile = `x; touch '${join(dir, 'pwned')}' $(touch '${join(dir, 'pwned')}') \`touch '${join(dir, 'pwned')}'\` | sh`
        const response = await start({ params: { TARGET: hostile } })
        expect(response.statusCode, response.body).toBe(201)
        expect(await settle(response.json().id as number)).toBe('succeeded')
        expect(readFileSync(join(dir, 'seen'), 'utf8')).toBe(`${hostile}\n`)
        expect(existsSync(join(dir, 'pwned'))).toBe(false)
      },
    )

    it.skipIf(kind.skipReason).each([
      ['a parameter the runbook does not declare', { TARGET: 'a', LD_PRELOAD: '/x.so' }],
      ['PATH as a parameter', { TARGET: 'a', PATH: '/tmp' }],
      ['BASH_ENV as a parameter', { TARGET: 'a', BASH_ENV: '/tmp/x' }],
    ])('refuses %s', async (_name, params) => {
      const response = await start({ params })
      expect(response.statusCode).toBe(400)
      expect(response.json().error.message).toContain('unknown parameter')
    })

    it.skipIf(kind.skipReason).each([
      ['a command', { command: "touch '$DIR/pwned'" }],
      ['steps', { steps: [{ run: "touch '$DIR/pwned'" }] }],
      ['a runbook source', { runbookSource: "```keel-command\nrun: touch '$DIR/pwned'\n```" }],
      ['a shell and cwd', { shell: '/usr/bin/env', cwd: '/' }],
    ])('runs the file’s command, not %s given beside the parameters', async (_name, extra) => {
      const payload = JSON.parse(JSON.stringify(extra).replaceAll('$DIR', dir)) as object
      const response = await start({ params: { TARGET: 'from the body' }, ...payload })
      // Fields the route does not declare are dropped before the handler sees the body.
      expect(response.statusCode, response.body).toBe(201)
      expect(await settle(response.json().id as number)).toBe('succeeded')
      expect(readFileSync(join(dir, 'seen'), 'utf8')).toBe('from the body\n')
      expect(existsSync(join(dir, 'pwned'))).toBe(false)
    })

    it.skipIf(kind.skipReason).each(['..%2Foutside', '%2E%2E%2Foutside', 'ABSOLUTE', 'outside'])(
      'finds no runbook by the name %s outside the configured folders',
      async (name) => {
        const target = name === 'ABSOLUTE' ? encodeURIComponent(join(dir, 'outside')) : name
        const response = await start({ params: { TARGET: 'a' } }, target)
        expect(response.statusCode).toBe(404)
        expect(existsSync(join(dir, 'pwned'))).toBe(false)
      },
    )

    it.skipIf(kind.skipReason)(
      'has no route that takes a runbook file, a folder or a command step from its body',
      () => {
        // Runbooks are read from keel.yaml's folders only: the routes that write are these.
        const writes = routeTable(h.app)
          .filter((r) => r.url.includes('runbook') && !['GET', 'HEAD'].includes(r.method))
          .map((r) => `${r.method} ${r.url}`)
          .sort()
        expect(writes).toEqual(
          expect.arrayContaining([
            'POST /api/v1/runbook-runs/:id/approve',
            'POST /api/v1/runbook-runs/:id/cancel',
            'POST /api/v1/runbook-runs/:id/steps/:step',
            'POST /api/v1/runbooks/:name/runs',
          ]),
        )
        expect(writes.filter((w) => !w.startsWith('POST /api/v1/runbook'))).toEqual([])
        expect(writes.some((w) => /^(PUT|PATCH)|POST \/api\/v1\/runbooks$/.test(w))).toBe(false)
      },
    )
  },
)
