import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprint, type Labels } from '../src/core/alerts/index.js'
import { requireOrSkip } from './helpers/require-or-skip.js'

// Keel's fingerprint must equal the one Alertmanager computes (Prometheus' LabelSet.Fingerprint),
// so these reference values come from a real Alertmanager, never from a second implementation.
const binary = '/usr/bin/prometheus-alertmanager'
const available = existsSync(binary)
if (!available) {
  requireOrSkip(
    'alertmanager',
    `${binary} is missing, so the live fingerprint comparison is skipped`,
  )
}

const manyLabels: Labels = Object.fromEntries(
  Array.from({ length: 40 }, (_, i) => [
    `label_${String(i).padStart(2, '0')}`,
    `value-${i * 7919}`,
  ]),
)

const labelSets: { name: string; labels: Labels }[] = [
  { name: 'a single alertname', labels: { alertname: 'KeelFingerprintSingle' } },
  {
    name: 'the labels of a Keel monitor alert',
    labels: {
      alertname: 'MonitorUnhealthy',
      monitor: 'db-main',
      monitor_type: 'tcp',
      service: 'db',
      team: 'dba',
    },
  },
  {
    name: 'unicode values in several scripts',
    labels: {
      alertname: 'KeelFingerprintUnicode',
      city: 'Zürich',
      cjk: '数据库主节点',
      emoji: '🚨 down 🔥',
      rtl: 'خادم',
      latin1: 'ÿþ', // U+00FF encodes as C3 BF in UTF-8: no raw 0xff byte reaches the hash
    },
  },
  { name: 'forty labels', labels: { alertname: 'KeelFingerprintMany', ...manyLabels } },
  {
    name: 'names whose byte order differs from their case-insensitive order',
    labels: {
      alertname: 'KeelFingerprintOrder',
      B: 'upper',
      _private: 'underscore',
      a: 'lower',
      a1: 'digit',
      aa: 'double',
      Z9: 'quote " and newline \n and tab \t',
    },
  },
]

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = performance.now() + 20_000
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`alertmanager exited early:\n${log()}`)
    try {
      const response = await fetch(`${url}/-/ready`)
      if (response.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`alertmanager did not become ready at ${url}:\n${log()}`)
}

interface GettableAlert {
  labels: Labels
  fingerprint: string
}

describe.skipIf(!available)('fingerprint matches Prometheus Alertmanager', () => {
  let dir = ''
  let child: ChildProcess | undefined
  let url = ''
  let received: GettableAlert[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-alertmanager-'))
    const config = join(dir, 'alertmanager.yml')
    writeFileSync(config, "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n")
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    child = spawn(
      binary,
      [
        `--config.file=${config}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    await waitUntilReady(url, child, () => output)

    const posted = await fetch(`${url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(labelSets.map(({ labels }) => ({ labels }))),
    })
    expect(posted.status, await posted.text()).toBe(200)
    const listed = await fetch(`${url}/api/v2/alerts`)
    received = (await listed.json()) as GettableAlert[]
  })

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
  })

  it('lists every alert it was sent, with its labels unchanged', () => {
    expect(received.map((a) => a.labels)).toEqual(
      expect.arrayContaining(labelSets.map(({ labels }) => labels)),
    )
    expect(received).toHaveLength(labelSets.length)
  })

  it.each(labelSets)('Keel and Alertmanager give $name the same fingerprint', ({ labels }) => {
    const fromAlertmanager = received.find(
      (a) => JSON.stringify(sorted(a.labels)) === JSON.stringify(sorted(labels)),
    )
    expect(fromAlertmanager, `Alertmanager did not list ${JSON.stringify(labels)}`).toBeDefined()
    expect(fingerprint(labels)).toBe(fromAlertmanager?.fingerprint)
  })
})

function sorted(labels: Labels): [string, string][] {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}
