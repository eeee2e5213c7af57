import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runKeel } from './helpers/cli.js'

const secret = 'Bearer hook-secret-that-must-stay-sealed'

describe('keel secrets rotate', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keel-secrets-cli-'))
    writeFileSync(
      join(dir, 'keel.yaml'),
      [
        'store: { driver: sqlite, path: keel.db }',
        'channels:',
        '  ops-hook:',
        '    type: webhook',
        '    url: "http://127.0.0.1:9/hook"',
        `    headers: { Authorization: "${secret}" }`,
      ].join('\n'),
    )
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('replaces keel.key, keeps the old one aside, and the store opens with the new key only', async () => {
    const applied = await runKeel(['apply', '-f', 'keel.yaml'], dir)
    expect(applied.code, applied.stderr).toBe(0)
    const oldKey = readFileSync(join(dir, 'keel.key'), 'utf8')

    const rotated = await runKeel(['secrets', 'rotate', '-c', 'keel.yaml'], dir)
    expect(rotated.code, rotated.stderr).toBe(0)
    expect(rotated.stdout).toContain('Sealed the secrets of 1 monitors and channels')
    expect(readFileSync(join(dir, 'keel.key.previous'), 'utf8')).toBe(oldKey)
    expect(readFileSync(join(dir, 'keel.key'), 'utf8')).not.toBe(oldKey)
    expect(existsSync(join(dir, 'keel.key.new'))).toBe(false)
    for (const file of ['keel.db', 'keel.db-wal'].filter((f) => existsSync(join(dir, f))))
      expect(readFileSync(join(dir, file)).includes(secret)).toBe(false)

    // Opens with the new key; the old key alone no longer does.
    const exported = await runKeel(['export', '--all', '-c', 'keel.yaml'], dir)
    expect(exported.code, exported.stderr).toBe(0)
    expect(exported.stdout).toContain('ops-hook')
    rmSync(join(dir, 'keel.key.previous'))
    writeFileSync(join(dir, 'keel.key'), oldKey)
    const refused = await runKeel(['export', '--all', '-c', 'keel.yaml'], dir)
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('does not decrypt with the key from secret key file')
  }, 240_000)
})
