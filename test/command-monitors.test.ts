import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startKeel, type RunningKeel } from '../src/cli/start-keel.js'

/** keel.yaml with a command monitor of its own, and `checks.commandDirs` when given. */
function config(dir: string, commandDirs: string[]): string {
  return [
    'store: { driver: sqlite, path: keel.db }',
    ...(commandDirs.length > 0 ? [`checks: { commandDirs: ${JSON.stringify(commandDirs)} }`] : []),
    'monitors:',
    '  from-config:',
    '    type: command',
    `    command: ${join(dir, 'admin', 'check_admin')}`,
    '    paused: true',
  ].join('\n')
}

/** Runs `keel check <id>` against a config; its exit code and output. */
function keelCheck(configPath: string, id: string): Promise<{ code: number; stdout: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [resolve('bin/keel.js'), 'check', id, '--config', configPath],
      { env: { ...process.env, KEEL_LOG_LEVEL: 'warn' }, timeout: 60_000 },
      (error, stdout) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout })
      },
    )
  })
}

describe('checks.commandDirs in a running Keel', () => {
  let dir: string
  let keel: RunningKeel
  let token = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-command-dirs-'))
    await mkdir(join(dir, 'plugins'))
    await mkdir(join(dir, 'admin'))
    await writeFile(
      join(dir, 'plugins', 'check_marker'),
      `#!/bin/sh\ntouch '${join(dir, 'api-ran')}'\necho 'OK: api plugin'\n`,
      { mode: 0o755 },
    )
    await writeFile(
      join(dir, 'admin', 'check_admin'),
      `#!/bin/sh\ntouch '${join(dir, 'config-ran')}'\necho 'OK: admin script'\n`,
      { mode: 0o755 },
    )
    await writeFile(join(dir, 'keel.yaml'), config(dir, [join(dir, 'plugins')]))
    keel = await startKeel({
      configPath: join(dir, 'keel.yaml'),
      env: {},
      log: pino({ level: 'silent' }),
      listen: '127.0.0.1:0',
      nodeId: 'command-dirs-test',
      onBootstrapToken: (t) => (token = t),
    })
  })
  afterAll(async () => {
    await keel?.stop(1_000)
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${keel.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })

  it('accepts a plugin under the listed directory and refuses one elsewhere', async () => {
    const allowed = await api('POST', '/monitors', {
      id: 'api-plugin',
      type: 'command',
      command: join(dir, 'plugins', 'check_marker'),
      // Paused, so only check now runs it and the test decides when.
      paused: true,
    })
    expect(allowed.status).toBe(201)
    const refused = await api('POST', '/monitors', {
      id: 'api-admin',
      type: 'command',
      command: join(dir, 'admin', 'check_admin'),
    })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      'is not under checks.commandDirs',
    )
    const checked = await api('POST', '/monitors/api-plugin/check')
    expect(await checked.json()).toMatchObject({ status: 'up', message: 'OK: api plugin' })
    expect(existsSync(join(dir, 'api-ran'))).toBe(true)
  })

  it('after a reload that drops the directory, the API monitor is down unrun; keel.yaml’s still runs', async () => {
    await rm(join(dir, 'api-ran'), { force: true })
    await writeFile(join(dir, 'keel.yaml'), config(dir, []))
    expect((await keel.reload()).ok).toBe(true)
    expect(keel.config.checks.commandDirs).toEqual([])

    const checked = await api('POST', '/monitors/api-plugin/check')
    expect(await checked.json()).toMatchObject({
      status: 'down',
      message: expect.stringMatching(/^not run: `command` .*declared only in keel\.yaml/),
    })
    expect(existsSync(join(dir, 'api-ran'))).toBe(false)

    const fromConfig = await api('POST', '/monitors/from-config/check')
    expect(await fromConfig.json()).toMatchObject({ status: 'up', message: 'OK: admin script' })
    expect(existsSync(join(dir, 'config-ran'))).toBe(true)

    // `keel check` on the host reads the same keel.yaml and refuses the same way.
    const cli = await keelCheck(join(dir, 'keel.yaml'), 'api-plugin')
    expect(cli.code).toBe(2)
    expect(cli.stdout).toMatch(/^api-plugin: DOWN in \d+ms — not run: `command` /)
    expect(existsSync(join(dir, 'api-ran'))).toBe(false)

    const created = await api('POST', '/monitors', {
      id: 'api-again',
      type: 'command',
      command: join(dir, 'plugins', 'check_marker'),
    })
    expect(created.status).toBe(400)
  })
})
