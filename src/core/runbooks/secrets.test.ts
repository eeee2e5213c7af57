import { describe, expect, it } from 'vitest'
import { redactParameters, redactSecrets, secretRedactor } from './secrets.js'

describe('secret runbook parameters', () => {
  it.each([
    {
      name: 'a value in one chunk',
      chunks: ['token is s3cr3t!\n'],
      shown: 'token is <redacted>\n',
    },
    {
      name: 'a value split over three chunks',
      chunks: ['token is s3', 'cr', '3t! twice: s3cr3t!'],
      shown: 'token is <redacted> twice: <redacted>',
    },
    { name: 'text without the value', chunks: ['all ', 'good'], shown: 'all good' },
    { name: 'a value at the very end', chunks: ['x=s3cr3', 't!'], shown: 'x=<redacted>' },
  ])('redacts $name in streamed output', ({ chunks, shown }) => {
    const redactor = secretRedactor(['s3cr3t!'])
    const out = chunks.map((c) => redactor.push(c)).join('') + redactor.end()
    expect(out).toBe(shown)
  })

  it('leaves values under 4 characters alone, which would garble output and hide nothing', () => {
    expect(redactSecrets('exit 1 on 1', ['1', 'on'])).toBe('exit 1 on 1')
  })

  it('shows secret parameter values as <redacted> and others as they are', () => {
    expect(
      redactParameters({ TOKEN: 'abc123', HOST: 'db-1', EMPTY: '' }, new Set(['TOKEN', 'EMPTY'])),
    ).toEqual({
      TOKEN: '<redacted>',
      HOST: 'db-1',
      EMPTY: '',
    })
  })
})
