import { parseDocument } from 'yaml'
import { describe, expect, it } from 'vitest'
import { expandEnvInDocument, expandString } from './expand-env.js'

const env = { HOST: 'db.internal', EMPTY: '', PRICE: 'a$b' }

describe('expandString', () => {
  it.each([
    {
      name: 'a reference is replaced by the variable',
      text: 'https://${HOST}/x',
      value: 'https://db.internal/x',
    },
    {
      name: 'two references in one string are both replaced',
      text: '${HOST}:${HOST}',
      value: 'db.internal:db.internal',
    },
    { name: '$$ writes a literal dollar', text: 'pa$$word', value: 'pa$word' },
    { name: '$${ writes a literal reference', text: '$${HOST}', value: '${HOST}' },
    { name: 'a lone dollar is kept', text: 'cost: 5$ or $x', value: 'cost: 5$ or $x' },
    { name: 'a default is used for an unset variable', text: '${PORT:-5432}', value: '5432' },
    { name: 'a default is used for an empty variable', text: '${EMPTY:-none}', value: 'none' },
    {
      name: 'a default is ignored for a set variable',
      text: '${HOST:-localhost}',
      value: 'db.internal',
    },
    { name: 'an empty default is allowed', text: 'x${PORT:-}y', value: 'xy' },
    { name: 'an empty variable without default is empty', text: 'x${EMPTY}y', value: 'xy' },
    { name: 'an expanded value is not expanded again', text: '${PRICE}', value: 'a$b' },
  ])('$name', ({ text, value }) => {
    expect(expandString(text, env)).toEqual({ value, problems: [] })
  })

  it.each([
    {
      name: 'an unset variable without default is a problem naming it',
      text: 'x${SLACK_URL}',
      problem:
        'environment variable `SLACK_URL` is not set; set it, or give a default as `${SLACK_URL:-value}`',
    },
    {
      name: 'an unclosed reference is a problem',
      text: 'x${HOST',
      problem: '`${` is not closed by `}`; write `$${` for a literal `${`',
    },
    {
      name: 'a reference with an invalid name is a problem',
      text: '${1HOST}',
      problem:
        '`${1HOST}` is not a variable reference: names are letters, digits and _, and `$$` writes a literal `$`',
    },
  ])('$name', ({ text, problem }) => {
    expect(expandString(text, env).problems).toEqual([problem])
  })
})

describe('expandEnvInDocument', () => {
  it.each([
    {
      name: 'an unquoted whole reference to a number becomes a number',
      yaml: 'port: ${PORT}',
      value: { port: 5432 },
    },
    {
      name: 'an unquoted whole reference to a boolean becomes a boolean',
      yaml: 'on: ${ON}',
      value: { on: true },
    },
    { name: 'a quoted reference stays a string', yaml: 'port: "${PORT}"', value: { port: '5432' } },
    {
      name: 'a reference inside text stays a string',
      yaml: 'url: db:${PORT}',
      value: { url: 'db:5432' },
    },
    {
      name: 'an unquoted reference to words stays a string',
      yaml: 'host: ${HOST}',
      value: { host: 'db.internal' },
    },
    { name: 'keys are never expanded', yaml: '${HOST}: 1', value: { '${HOST}': 1 } },
    {
      name: 'list items are expanded',
      yaml: 'to: [a, "${HOST}"]',
      value: { to: ['a', 'db.internal'] },
    },
    {
      name: 'block scalars are expanded',
      yaml: 'text: |\n  at ${HOST}\n',
      value: { text: 'at db.internal\n' },
    },
  ])('$name', ({ yaml, value }) => {
    const doc = parseDocument(yaml)
    const { issues } = expandEnvInDocument(doc, { PORT: '5432', ON: 'true', HOST: 'db.internal' })
    expect(issues).toEqual([])
    expect(doc.toJS()).toEqual(value)
  })

  it('reports a missing variable with the path and offset of its value', () => {
    const yaml = 'channels:\n  ops:\n    urls: [a, "${SLACK}"]\n'
    const { issues } = expandEnvInDocument(parseDocument(yaml), {})
    expect(issues).toEqual([
      {
        segments: ['channels', 'ops', 'urls', 1],
        offset: yaml.indexOf('"${SLACK}"'),
        message:
          'environment variable `SLACK` is not set; set it, or give a default as `${SLACK:-value}`',
      },
    ])
  })

  it('remembers which values changed type, for error hints', () => {
    const { retyped } = expandEnvInDocument(parseDocument('a:\n  pin: ${PIN}\n'), { PIN: '1234' })
    expect([...retyped]).toEqual([['a.pin', '${PIN}']])
  })
})
