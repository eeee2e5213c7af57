import { describe, expect, it } from 'vitest'
import { ownedTokenAccess, type OwnerAccess } from './auth.js'
import type { Role } from '../store/auth.js'

const dbaEdge: OwnerAccess = { role: 'operator', teams: { dba: 'operator', edge: 'responder' } }

describe('what a user-owned token may do', () => {
  it.each<
    [string, { role: Role; team?: string }, OwnerAccess, ReturnType<typeof ownedTokenAccess>]
  >([
    ['an admin token of an admin', { role: 'admin' }, { role: 'admin' }, { role: 'admin' }],
    ['an admin token of a viewer', { role: 'admin' }, { role: 'viewer' }, { role: 'viewer' }],
    ['a viewer token of an admin', { role: 'viewer' }, { role: 'admin' }, { role: 'viewer' }],
    [
      'a scoped token of an unscoped responder',
      { role: 'operator', team: 'web' },
      { role: 'responder' },
      { role: 'responder', teams: { web: 'responder' } },
    ],
    [
      'an unscoped token of a scoped owner',
      { role: 'admin' },
      dbaEdge,
      { role: 'operator', teams: { dba: 'operator', edge: 'responder' } },
    ],
    [
      'a responder token of a scoped owner',
      { role: 'responder' },
      dbaEdge,
      { role: 'responder', teams: { dba: 'responder', edge: 'responder' } },
    ],
    [
      "a token scoped to one of the owner's teams",
      { role: 'operator', team: 'edge' },
      dbaEdge,
      { role: 'operator', teams: { edge: 'responder' } },
    ],
    [
      'a token scoped to a team the owner left',
      { role: 'operator', team: 'web' },
      dbaEdge,
      { role: 'operator', teams: {} },
    ],
  ])('%s', (_name, token, owner, expected) => {
    expect(ownedTokenAccess(token, owner)).toEqual(expected)
  })
})
