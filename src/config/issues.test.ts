import { describe, expect, it } from 'vitest'
import { closestWord, knownKeysAt } from './issues.js'
import { keelConfigSchema } from './schema.js'

describe('closestWord', () => {
  const sections = ['server', 'store', 'retention', 'scheduler', 'defaults', 'channels', 'monitors']

  it.each([
    { name: 'a missing letter is corrected', word: 'monitor', expected: 'monitors' },
    { name: 'a swapped pair of letters is corrected', word: 'sevrer', expected: 'server' },
    { name: 'case does not count as a typo', word: 'Channels', expected: 'channels' },
    { name: 'an unrelated word has no suggestion', word: 'alerts', expected: undefined },
    { name: 'a short word needs a close match', word: 'db', expected: undefined },
  ])('$name', ({ word, expected }) => {
    expect(closestWord(word, sections)).toBe(expected)
  })
})

describe('knownKeysAt', () => {
  it.each([
    {
      name: 'the top level lists the sections',
      path: [],
      input: {},
      includes: ['monitors', 'server'],
    },
    {
      name: 'a section lists its fields',
      path: ['server'],
      input: {},
      includes: ['listen', 'publicUrl'],
    },
    {
      name: 'a union member is chosen by its discriminator',
      path: ['store'],
      input: { store: { driver: 'postgres' } },
      includes: ['url', 'poolSize'],
    },
    {
      name: 'a record entry is followed to its value',
      path: ['channels', 'ops'],
      input: { channels: { ops: { type: 'email' } } },
      includes: ['host', 'password', 'to'],
    },
  ])('$name', ({ path, input, includes }) => {
    expect(knownKeysAt(keelConfigSchema, path, input)).toEqual(expect.arrayContaining(includes))
  })

  it('gives nothing when the discriminator matches no member', () => {
    expect(knownKeysAt(keelConfigSchema, ['store'], { store: { driver: 'mongo' } })).toBeUndefined()
  })
})
