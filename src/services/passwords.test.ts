import { describe, expect, it } from 'vitest'
import { checkNewPassword, hashPassword, needsRehash, verifyPassword } from './passwords.js'

describe('password hashing', () => {
  it('hashes with scrypt N=2^15, r=8, p=1 and a fresh salt, and verifies', async () => {
    const a = await hashPassword('correct horse battery staple')
    const b = await hashPassword('correct horse battery staple')
    expect(a).toMatch(/^scrypt\$15\$8\$1\$[\w-]{22}\$[\w-]{43}$/)
    expect(a).not.toBe(b)
    expect(await verifyPassword('correct horse battery staple', a)).toBe(true)
    expect(await verifyPassword('correct horse battery stapler', a)).toBe(false)
  })

  it('reads the parameters from the stored hash, so they can be raised later', async () => {
    const weak = await hashPassword('an old password here', { logN: 10, r: 8, p: 1 })
    expect(await verifyPassword('an old password here', weak)).toBe(true)
    expect(needsRehash(weak)).toBe(true)
    expect(needsRehash(await hashPassword('a current password'))).toBe(false)
  })

  it.each([['not a hash'], ['scrypt$99$8$1$c2FsdA$a2V5'], ['bcrypt$10$8$1$c2FsdA$a2V5']])(
    'treats a malformed stored hash %s as a mismatch',
    async (stored) => {
      expect(await verifyPassword('anything at all', stored)).toBe(false)
    },
  )

  it.each([
    ['short', 'at least 10 characters'],
    ['x'.repeat(1025), 'at most 1024'],
    ['Alice.Smith', 'must not be the user name'],
  ])('refuses the new password %#', (password, message) => {
    expect(() => checkNewPassword(password, 'alice.smith')).toThrow(message)
  })
})
