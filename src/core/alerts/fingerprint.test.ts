import { describe, expect, it } from 'vitest'
import { fingerprint, type Labels } from './fingerprint.js'

describe('fingerprint', () => {
  // Reference values read from the `fingerprint` field of Alertmanager 0.25.0's /api/v2/alerts
  // after posting these label sets (test/alertmanager-fingerprint.test.ts does it live). The
  // empty set cannot be posted; its value is Prometheus' emptyLabelSignature, the FNV-1a offset.
  it.each<{ name: string; labels: Labels; expected: string }>([
    {
      name: 'the empty label set is the FNV-1a offset basis',
      labels: {},
      expected: 'cbf29ce484222325',
    },
    { name: 'one label', labels: { alertname: 'x' }, expected: 'd240efc3896bf266' },
    { name: 'a short name with a long value', labels: { a: 'bc' }, expected: 'a0a3542c19b900ab' },
    { name: 'a long name with a short value', labels: { ab: 'c' }, expected: '20ba9b3025a8b421' },
    {
      name: 'two labels',
      labels: { service: 'db', severity: 'critical' },
      expected: '8cabfcf761b1538a',
    },
    {
      name: 'unicode values, hashed as UTF-8',
      labels: { city: 'Zürich', emoji: '🚨' },
      expected: '7098a4eeabefa268',
    },
  ])('$name gives what Alertmanager gives', ({ labels, expected }) => {
    expect(fingerprint(labels)).toBe(expected)
  })

  it.each<{ name: string; a: Labels; b: Labels }>([
    {
      name: 'the order labels were written in does not matter',
      a: { service: 'db', severity: 'critical', team: 'dba' },
      b: { team: 'dba', severity: 'critical', service: 'db' },
    },
    {
      name: 'mixed-case and underscore names in another order give the same result',
      a: { b: '1', B: '2', _c: '3', a1: '4' },
      b: { a1: '4', _c: '3', B: '2', b: '1' },
    },
  ])('$name', ({ a, b }) => {
    expect(fingerprint(a)).toBe(fingerprint(b))
  })

  it.each<{ name: string; a: Labels; b: Labels }>([
    {
      name: 'moving a character from the name to the value changes it',
      a: { a: 'bc' },
      b: { ab: 'c' },
    },
    {
      name: 'moving a character between two labels changes it',
      a: { a: 'x', b: 'yz' },
      b: { a: 'xy', b: 'z' },
    },
    {
      name: 'swapping values between names changes it',
      a: { a: '1', b: '2' },
      b: { a: '2', b: '1' },
    },
    { name: 'a name and a value are not interchangeable', a: { a: 'b' }, b: { b: 'a' } },
    { name: 'values differing only in case differ', a: { a: 'Down' }, b: { a: 'down' } },
    { name: 'an extra label changes it', a: { a: '1' }, b: { a: '1', b: '2' } },
    {
      name: 'composed and decomposed unicode are different bytes',
      a: { city: 'Z\u00fcrich' },
      b: { city: 'Zu\u0308rich' },
    },
  ])('$name', ({ a, b }) => {
    expect(fingerprint(a)).not.toBe(fingerprint(b))
  })

  it('ignores labels with an empty value, as Prometheus and Alertmanager do', () => {
    expect(fingerprint({ alertname: 'x', empty: '' })).toBe(fingerprint({ alertname: 'x' }))
    expect(fingerprint({ a: '' })).toBe(fingerprint({}))
  })

  it.each<{ name: string; labels: Labels }>([
    { name: 'the empty set', labels: {} },
    { name: 'one label', labels: { x: 'y' } },
    { name: 'many labels', labels: Object.fromEntries([...'abcdefghij'].map((c) => [c, c])) },
  ])('is sixteen lower-case hex digits for $name', ({ labels }) => {
    expect(fingerprint(labels)).toMatch(/^[0-9a-f]{16}$/)
  })

  it('does not change the labels it is given', () => {
    const labels = { b: '2', a: '1' }
    fingerprint(labels)
    expect(Object.keys(labels)).toEqual(['b', 'a'])
  })
})
