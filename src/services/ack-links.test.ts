import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { base64UrlEncode, encodeAckLinkPayload } from '../core/escalation/index.js'
import {
  loadOrCreateSecretKey,
  resolveSecretKey,
  signAckLink,
  verifyAckLink,
  type AckLinkClaims,
} from './ack-links.js'

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const key = new Uint8Array(32).fill(7)
const claims: AckLinkClaims = { incidentId: 42, user: 'ann', action: 'ack', expiresAt: t0 + 60_000 }

function tokenOf(path: string): { payload: string; signature: string } {
  const [payload, signature] = path.slice('/a/'.length).split('.') as [string, string]
  return { payload, signature }
}

describe('signAckLink and verifyAckLink', () => {
  it('signs a short /a/ path that verifies to the same claims, from the path or the whole URL', () => {
    const path = signAckLink(claims, key)
    expect(path).toMatch(/^\/a\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/)
    expect(verifyAckLink(path, key, t0)).toEqual({ ok: true, claims })
    expect(verifyAckLink(`https://keel.example.org${path}`, key, t0)).toEqual({ ok: true, claims })
    expect(verifyAckLink(path.slice(3), key, t0)).toEqual({ ok: true, claims })
  })

  it.each([
    { name: 'another incident', change: { incidentId: 43 } },
    { name: 'another action', change: { action: 'resolve' as const } },
    { name: 'another user', change: { user: 'bob' } },
    { name: 'a later expiry', change: { expiresAt: t0 + 3_600_000 } },
  ])('refuses the signature of one link reused for $name', ({ change }) => {
    const { signature } = tokenOf(signAckLink(claims, key))
    const forged = `/a/${encodeAckLinkPayload({ ...claims, ...change })}.${signature}`
    const result = verifyAckLink(forged, key, t0)
    expect(result).toMatchObject({ ok: false, reason: 'signature' })
  })

  it('refuses a link signed with another key', () => {
    const other = new Uint8Array(32).fill(8)
    expect(verifyAckLink(signAckLink(claims, other), key, t0)).toMatchObject({
      ok: false,
      reason: 'signature',
    })
  })

  it('says clearly when a link has expired, and only after checking its signature', () => {
    const result = verifyAckLink(signAckLink(claims, key), key, claims.expiresAt)
    expect(result).toMatchObject({ ok: false, reason: 'expired', claims })
    expect(result.ok ? '' : result.message).toBe(
      'This link expired at 2026-11-23T12:01:00.000Z; acknowledge incident #42 from the incident page or a newer message.',
    )
  })

  it.each([
    { name: 'no dot', link: '/a/abc' },
    { name: 'an empty payload', link: '/a/.abc' },
    { name: 'garbage', link: '/a/!!.??' },
  ])('refuses $name', ({ link }) => {
    expect(verifyAckLink(link, key, t0)).toMatchObject({ ok: false })
  })

  it('refuses a correctly signed payload that is not a link', async () => {
    const { signForPurpose } = await import('./ack-links.js')
    const payload = base64UrlEncode(new TextEncoder().encode('{"v":9}'))
    const link = `/a/${payload}.${signForPurpose(key, 'ack-link', payload)}`
    expect(verifyAckLink(link, key, t0)).toMatchObject({ ok: false, reason: 'malformed' })
  })
})

describe('the secret key', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keel-key-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('is created once with mode 0600 and read back the same', async () => {
    const path = join(dir, 'keel.key')
    const created = await loadOrCreateSecretKey(path)
    expect(created).toHaveLength(32)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(await loadOrCreateSecretKey(path)).toEqual(created)
  })

  it('ends up as one key when two starts race to create it', async () => {
    const path = join(dir, 'keel.key')
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateSecretKey(path)))
    for (const k of keys) expect(k).toEqual(keys[0])
  })

  it('refuses a key file that holds too little', async () => {
    const path = join(dir, 'keel.key')
    writeFileSync(path, 'short\n')
    await expect(loadOrCreateSecretKey(path)).rejects.toThrow(
      /secret key file .*keel\.key must hold at least 32 random bytes/,
    )
  })

  it('comes from KEEL_SECRET_KEY when set, which must be long enough', async () => {
    const keyPath = join(dir, 'keel.key')
    const text = 'x'.repeat(40)
    const fromEnv = await resolveSecretKey({ env: { KEEL_SECRET_KEY: text }, keyPath })
    expect(fromEnv.source).toBe('env')
    expect(Buffer.from(fromEnv.key).toString()).toBe(text)
    expect(() => statSync(keyPath)).toThrow()
    await expect(resolveSecretKey({ env: { KEEL_SECRET_KEY: 'short' }, keyPath })).rejects.toThrow(
      /at least 32 characters/,
    )
    expect((await resolveSecretKey({ env: {}, keyPath })).source).toBe('file')
  })
})
