import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const keel = resolve('bin/keel.js')

function run(
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [keel, ...args],
      { cwd, env: { ...process.env, KEEL_LOG_LEVEL: 'warn' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolvePromise({ code, stdout, stderr })
      },
    )
  })
}

describe('the keel command', () => {
  let dir: string
  let target: Server
  let targetUrl: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-cli-'))
    target = createServer((req, res) => {
      res.writeHead(req.url === '/broken' ? 503 : 200)
      res.end('hello from the target')
    })
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r))
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((r) => target.close(() => r()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('lists every problem of an invalid keel.yaml with its path and exits non-zero', async () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      [
        'monitors:',
        '  web:',
        '    type: http',
        '    url: not a url',
        '    interval: 2 minutes',
        '  db:',
        '    type: tcp',
        '    host: 127.0.0.1',
        '    port: 99999',
        '    channels: [nowhere]',
      ].join('\n'),
    )
    const result = await run(['validate', '-c', 'bad.yaml'], dir)
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('monitors.web.url')
    expect(result.stderr).toContain('monitors.web.interval')
    expect(result.stderr).toContain('monitors.db.port')
    expect(result.stderr).toContain('monitors.db.channels[0]')
  })

  it.each([
    [
      'monitors',
      '__proto__',
      'monitors:\n  __proto__: { type: http, url: "https://example.org", polluted: yes }',
    ],
    [
      'channels',
      'constructor',
      'channels:\n  constructor: { type: webhook, url: "https://example.org" }',
    ],
    ['users', 'prototype', 'users:\n  prototype: { role: admin }'],
  ])(
    'refuses %s keyed by %s in validate and apply, naming the path',
    async (section, key, text) => {
      writeFileSync(
        join(dir, `proto-${key}.yaml`),
        `store: { driver: sqlite, path: proto.db }\n${text}\n`,
      )
      for (const args of [
        ['validate', '-c', `proto-${key}.yaml`],
        ['apply', '-f', `proto-${key}.yaml`],
      ]) {
        const result = await run(args, dir)
        expect(result.code).not.toBe(0)
        expect(result.stderr).toContain(`${section}.${key}`)
        expect(result.stderr).toContain('reserved')
      }
    },
  )

  it('validates, plans, applies, reports status and runs a single check', async () => {
    const config = (monitors: string) =>
      ['store: { driver: sqlite, path: keel.db }', 'monitors:', monitors].join('\n')
    writeFileSync(
      join(dir, 'keel.yaml'),
      config(
        [
          '  web:',
          '    type: http',
          `    url: ${targetUrl}/`,
          '    keyword: hello',
          '  broken:',
          '    type: http',
          `    url: ${targetUrl}/broken`,
        ].join('\n'),
      ),
    )
    const valid = await run(['validate', '-c', 'keel.yaml'], dir)
    expect(valid.stdout).toContain('is valid: 2 monitors')
    expect(valid.code).toBe(0)

    const dry = await run(['apply', '-f', 'keel.yaml', '--dry-run'], dir)
    expect(dry.stdout).toContain('+ monitor web (http)')
    expect(dry.stdout).toContain('Plan: 2 to add, 0 to change, 0 to destroy.')
    expect(dry.stdout).toContain('Dry run')
    const emptyStatus = await run(['status', '-c', 'keel.yaml'], dir)
    expect(emptyStatus.stdout).toContain('0 monitors')

    const applied = await run(['apply', '-f', 'keel.yaml'], dir)
    expect(applied.code).toBe(0)
    expect(applied.stdout).toContain('Applied')
    const again = await run(['apply', '-f', 'keel.yaml'], dir)
    expect(again.stdout).toContain('No changes')

    writeFileSync(
      join(dir, 'keel.yaml'),
      config(
        ['  web:', '    type: http', `    url: ${targetUrl}/`, '    interval: 30s'].join('\n'),
      ),
    )
    const changed = await run(['apply', '-f', 'keel.yaml'], dir)
    expect(changed.stdout).toContain('~ monitor web: interval')
    expect(changed.stdout).toContain('- monitor broken')
    expect(changed.stdout).toContain('Plan: 0 to add, 1 to change, 1 to destroy.')

    const status = await run(['status', '-c', 'keel.yaml'], dir)
    expect(status.stdout).toMatch(/MONITOR\s+TYPE\s+STATE/)
    expect(status.stdout).toMatch(/web\s+http\s+PENDING/)

    const up = await run(['check', 'web', '-c', 'keel.yaml'], dir)
    expect(up.stdout).toContain('web: UP')
    expect(up.code).toBe(0)
    writeFileSync(
      join(dir, 'keel.yaml'),
      config(['  broken:', '    type: http', `    url: ${targetUrl}/broken`].join('\n')),
    )
    const down = await run(['check', 'broken', '-c', 'keel.yaml'], dir)
    expect(down.stdout).toContain('broken: DOWN')
    expect(down.code).toBe(2)
    const missing = await run(['check', 'nope', '-c', 'keel.yaml'], dir)
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain('monitor nope')
    // Eight CLI processes in a row: generous, since a loaded 2-core machine starts each slowly.
  }, 180_000)

  it('serves: prints the URL and a one-time admin token that authenticates', async () => {
    const serveDir = mkdtempSync(join(tmpdir(), 'keel-serve-'))
    writeFileSync(
      join(serveDir, 'keel.yaml'),
      [
        'store: { driver: sqlite, path: keel.db }',
        'monitors:',
        '  web:',
        '    type: http',
        `    url: ${targetUrl}/`,
      ].join('\n'),
    )
    const child = spawn(
      process.execPath,
      [keel, 'serve', '-c', 'keel.yaml', '--listen', '127.0.0.1:0'],
      {
        cwd: serveDir,
        env: { ...process.env, KEEL_LOG_LEVEL: 'warn' },
      },
    )
    try {
      let stdout = ''
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
      const until = Date.now() + 30_000
      while (!/Bearer (keel_\S+)/.test(stdout) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50))
      const url = /running at (http:\/\/\S+)/.exec(stdout)?.[1]
      const token = /Bearer (keel_[A-Za-z0-9_-]+)/.exec(stdout)?.[1]
      expect(url, stdout).toBeDefined()
      expect(token, stdout).toBeDefined()
      const denied = await fetch(`${url}/api/v1/status`)
      expect(denied.status).toBe(401)
      const allowed = await fetch(`${url}/api/v1/status`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(allowed.status).toBe(200)
      const body = (await allowed.json()) as { total: number }
      expect(body.total).toBe(1)
    } finally {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
      rmSync(serveDir, { recursive: true, force: true })
    }
    expect(child.exitCode).toBe(0)
  })
})
