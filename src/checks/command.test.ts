import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort, listenOnLoopback, type ListeningServer } from '../../test/helpers/listen.js'
import { requireOrSkip } from '../../test/helpers/require-or-skip.js'
import { commandProbe, maxCommandMessageLength } from './command.js'
import type { ProbeContext } from './probe.js'

const plugins = '/usr/lib/nagios/plugins'
const hasPlugins = existsSync(`${plugins}/check_dummy`)
if (!hasPlugins) {
  requireOrSkip(
    'monitoring-plugins',
    `${plugins}/check_dummy is missing, so the plugin tests are skipped`,
  )
}

function check(input: Record<string, unknown>, overrides: Partial<ProbeContext> = {}) {
  return commandProbe.run(commandProbe.configSchema.parse(input), {
    signal: new AbortController().signal,
    timeoutMs: 10_000,
    conditions: [],
    ...overrides,
  })
}

function shell(script: string, extra: Record<string, unknown> = {}) {
  return { command: '/bin/sh', args: ['-c', script], ...extra }
}

async function processesWith(marker: string): Promise<number> {
  let count = 0
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.split('\0').includes(marker)) count++
  }
  return count
}

describe.skipIf(!hasPlugins)(
  `commandProbe with monitoring-plugins (needs ${plugins}; apt install monitoring-plugins)`,
  () => {
    let tcp: ListeningServer
    let http: ListeningServer

    beforeAll(async () => {
      tcp = await listenOnLoopback(createServer((socket) => socket.on('error', () => undefined)))
      http = await listenOnLoopback(
        createHttpServer((req, res) => {
          res.writeHead(req.url === '/health' ? 200 : 500, { 'content-type': 'text/plain' })
          res.end('status: ok')
        }),
      )
    })

    afterAll(async () => {
      await tcp?.close()
      await http?.close()
    })

    it.each([
      ['0', 'all good', 'up', 'OK: all good'],
      ['1', 'warn text', 'degraded', 'WARNING: warn text'],
      ['2', 'disk full', 'down', 'CRITICAL: disk full'],
      ['3', 'no idea', 'down', 'UNKNOWN: no idea'],
    ])('maps check_dummy %s to %s', async (code, text, status, message) => {
      const outcome = await check({ command: `${plugins}/check_dummy`, args: [code, text] })
      expect(outcome).toMatchObject({ status, message })
    })

    it('is up for check_tcp against a loopback listener and keeps its perfdata', async () => {
      const outcome = await check({
        command: `${plugins}/check_tcp`,
        args: ['-H', '127.0.0.1', '-p', String(tcp.port)],
      })
      expect(outcome.status).toBe('up')
      expect(outcome.message).toMatch(
        /^TCP OK - [\d.]+ second response time on 127\.0\.0\.1 port \d+$/,
      )
      expect(outcome.metrics).toEqual([
        { label: 'time', value: expect.any(Number), unit: 's', min: 0, max: 10 },
      ])
    })

    it('is down for check_tcp against a closed port', async () => {
      const port = await closedPort()
      const outcome = await check({
        command: `${plugins}/check_tcp`,
        args: ['-H', '127.0.0.1', '-p', String(port)],
      })
      expect(outcome).toMatchObject({
        status: 'down',
        message: `connect to address 127.0.0.1 and port ${port}: Connection refused`,
      })
    })

    it('runs check_http against a loopback server', async () => {
      const args = ['-H', '127.0.0.1', '-p', String(http.port), '-u', '/health', '-s', 'status: ok']
      const outcome = await check({ command: `${plugins}/check_http`, args })
      expect(outcome.status).toBe('up')
      expect(outcome.message).toMatch(/^HTTP OK: HTTP\/1\.1 200 OK/)
      expect(outcome.metrics?.map((metric) => metric.label)).toEqual(['time', 'size'])
      const failing = await check({
        command: `${plugins}/check_http`,
        args: [...args.slice(0, 4), '-u', '/other'],
      })
      expect(failing.status).toBe('down')
    })

    it('evaluates [EXIT_CODE] and [RESULT] conditions', async () => {
      const outcome = await check(
        { command: `${plugins}/check_dummy`, args: ['0', 'replica lag 3s'] },
        { conditions: ['[EXIT_CODE] == 0', '[RESULT] == pat(*lag 9s*)'] },
      )
      expect(outcome).toMatchObject({
        status: 'down',
        message: 'OK: replica lag 3s; [RESULT] (OK: replica lag 3s) == pat(*lag 9s*)',
      })
    })
  },
)

describe('commandProbe', () => {
  it('says UNKNOWN for an exit code outside 0-3', async () => {
    const outcome = await check(shell('echo "something odd"; exit 4'))
    expect(outcome).toMatchObject({ status: 'down', message: 'UNKNOWN (exit 4): something odd' })
  })

  it('uses stderr when stdout is empty', async () => {
    const outcome = await check(shell('echo "cannot read config" >&2; exit 2'))
    expect(outcome).toMatchObject({ status: 'down', message: 'cannot read config' })
  })

  it('says so when a plugin prints nothing', async () => {
    const outcome = await check(shell('exit 1'))
    expect(outcome).toMatchObject({
      status: 'degraded',
      message: 'WARNING (exit 1) without output',
    })
  })

  it('parses long text and perfdata from later lines', async () => {
    const outcome = await check(
      shell("printf 'DISK OK | /=10MB;20;30;0;40\\nlong line\\n/var 1 MB | /var=1MB\\n'"),
    )
    expect(outcome).toMatchObject({
      status: 'up',
      message: 'DISK OK',
      metrics: [
        { label: '/', value: 10, unit: 'MB' },
        { label: '/var', value: 1, unit: 'MB' },
      ],
    })
  })

  it('passes only the configured environment, not Keel’s', async () => {
    process.env.KEEL_TEST_LEAK = 'leaked'
    try {
      const outcome = await check(
        shell('echo "OK - [$KEEL_TEST_VALUE] [$KEEL_TEST_LEAK] [$LC_ALL]"', {
          env: { KEEL_TEST_VALUE: 'given' },
        }),
      )
      expect(outcome.message).toBe('OK - [given] [] [C]')
    } finally {
      delete process.env.KEEL_TEST_LEAK
    }
  })

  it('runs in the configured directory', async () => {
    const outcome = await check(shell('echo "OK - $(pwd)"', { cwd: '/tmp' }))
    expect(outcome.message).toBe('OK - /tmp')
  })

  it('passes arguments without a shell, so metacharacters stay literal', async () => {
    const outcome = await check({ command: '/bin/echo', args: ['OK - $(id) ; rm -rf / && x > y'] })
    expect(outcome.message).toBe('OK - $(id) ; rm -rf / && x > y')
  })

  it('never hands args to a shell: `; touch file` stays one literal argument', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keel-command-'))
    const marker = join(dir, 'touched')
    try {
      const outcome = await check({
        command: '/bin/echo',
        args: ['OK', `; touch ${marker}`, `$(touch ${marker})`, `| touch ${marker}`],
      })
      expect(outcome.message).toBe(`OK ; touch ${marker} $(touch ${marker})`)
      expect(existsSync(marker)).toBe(false)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('shows only the first line and perfdata: long output lines never reach the message', async () => {
    const outcome = await check(
      shell("printf 'OK: first | t=1s\\nsecret line 1\\nsecret line 2 | x=2\\n'; exit 0"),
    )
    expect(outcome).toEqual({
      status: 'up',
      latencyMs: expect.any(Number),
      message: 'OK: first',
      metrics: [
        { label: 't', value: 1, unit: 's' },
        { label: 'x', value: 2 },
      ],
    })
  })

  it('names a failed [BODY] condition without quoting the output', async () => {
    const outcome = await check(shell("printf 'OK\\nsecret long output\\n'"), {
      conditions: ['[BODY] == pat(*nothing*)', '[EXIT_CODE] == 1'],
    })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toBe('OK; [BODY] == pat(*nothing*) is not met; [EXIT_CODE] (0) == 1')
    expect(outcome.message).not.toContain('secret')
  })

  it(`caps the first line at ${maxCommandMessageLength} characters`, async () => {
    const outcome = await check(shell('head -c 5000 /dev/zero | tr "\\0" a; echo; echo second'))
    expect(outcome.message).toHaveLength(maxCommandMessageLength)
    expect(outcome.message.endsWith('aaa...')).toBe(true)
  })

  it('keeps only the first line of stderr when stdout is empty', async () => {
    const outcome = await check(shell('printf "bad config\\nsecret detail\\n" >&2; exit 2'))
    expect(outcome.message).toBe('bad config')
  })

  it('caps the output it keeps at 64 KiB', async () => {
    const outcome = await check(shell('head -c 300000 /dev/zero | tr "\\0" a'), {
      conditions: ['len([BODY]) == 65536'],
    })
    expect(outcome.status).toBe('up')
  })

  it('kills the whole process group on timeout', async () => {
    const marker = `31.${process.pid}`
    const outcome = await check(shell(`sleep ${marker} & sleep ${marker}; echo never`), {
      timeoutMs: 300,
    })
    expect(outcome).toMatchObject({
      status: 'down',
      message: '/bin/sh timed out after 300ms; killed it',
    })
    let left = await processesWith(marker)
    for (let i = 0; i < 100 && left > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      left = await processesWith(marker)
    }
    expect(left).toBe(0)
  })

  it('is down with a clear message when the command does not exist', async () => {
    const outcome = await check({ command: '/nonexistent/check_nothing' })
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'command not found: /nonexistent/check_nothing (or cwd . is missing)',
    })
  })

  it('is down when the command is not executable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keel-command-'))
    const path = join(dir, 'check_plain_file')
    try {
      await writeFile(path, 'echo OK\n', { mode: 0o644 })
      const outcome = await check({ command: path })
      expect(outcome).toMatchObject({
        status: 'down',
        message: `${path} is not executable; check its mode and owner`,
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('reports a plugin killed by a signal', async () => {
    const outcome = await check(shell('kill -SEGV $$'))
    expect(outcome).toMatchObject({ status: 'down', message: '/bin/sh was killed by SIGSEGV' })
  })
})
