import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { InputError } from '../core/errors.js'

/** scrypt cost parameters; stored with each hash so they can be raised without a migration. */
export interface ScryptParams {
  /** log2 of N, the CPU/memory cost. */
  logN: number
  r: number
  p: number
}

/** N = 2^15, r = 8, p = 1: 32 MiB of memory per hash, the OWASP minimum for scrypt. */
export const defaultScryptParams: ScryptParams = { logN: 15, r: 8, p: 1 }

const keyLength = 32

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** params.logN,
    r: params.r,
    p: params.p,
    // Node's default maxmem (32 MiB) is exactly 128·N·r at N=2^15, r=8, which scrypt rejects.
    maxmem: 256 * 2 ** params.logN * params.r,
  }
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  )
}

/** Hashes a password as `scrypt$<logN>$<r>$<p>$<salt>$<hash>` (base64url), with a fresh salt. */
export async function hashPassword(
  password: string,
  params: ScryptParams = defaultScryptParams,
): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, params)
  return [
    'scrypt',
    params.logN,
    params.r,
    params.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$')
}

function parseHash(
  stored: string,
): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const [scheme, logN, r, p, salt, key] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !key) return undefined
  const params = { logN: Number(logN), r: Number(r), p: Number(p) }
  if (![params.logN, params.r, params.p].every((n) => Number.isInteger(n) && n > 0))
    return undefined
  if (params.logN > 22) return undefined
  return { params, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') }
}

/** True when `password` matches the stored hash; compares in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored)
  if (!parsed) return false
  const key = await derive(password, parsed.salt, parsed.params)
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key)
}

/** True when a stored hash uses weaker parameters than `params` and should be redone at login. */
export function needsRehash(stored: string, params: ScryptParams = defaultScryptParams): boolean {
  const parsed = parseHash(stored)
  if (!parsed) return true
  return (
    parsed.params.logN < params.logN || parsed.params.r < params.r || parsed.params.p < params.p
  )
}

let dummy: Promise<string> | undefined

/**
 * Spends the same time as checking a real password, for a user that does not exist or has
 * none, so the response time does not tell which user names exist.
 */
export async function verifyDummyPassword(password: string): Promise<false> {
  dummy ??= hashPassword('keel-dummy-password')
  await verifyPassword(password, await dummy)
  return false
}

/** The shortest password accepted. */
export const minPasswordLength = 10

/** Throws InputError naming the rule when a new password is too weak or too long. */
export function checkNewPassword(password: string, username: string): void {
  if (password.length < minPasswordLength) {
    throw new InputError(
      `password must be at least ${minPasswordLength} characters long, got ${password.length}; a passphrase of several words works well`,
    )
  }
  if (password.length > 1024) throw new InputError('password must be at most 1024 characters long')
  if (password.toLowerCase() === username.toLowerCase()) {
    throw new InputError(`password must not be the user name ${username}`)
  }
}
