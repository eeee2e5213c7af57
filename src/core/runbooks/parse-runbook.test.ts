import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { parseRunbook } from './parse-runbook.js'

const front = (extra = '') => `---\ntitle: Disk full\n${extra}---\n`
const parse = (text: string) => parseRunbook({ name: 'disk-full', text }, parseYaml)

const tree = (answersOfB: string, extra = '') =>
  `${front(extra)}
## Step: a — Look
- [ ] look at the graph

## Step: b — Decide
\`\`\`keel-decision
question: Is it full?
answers:
${answersOfB}
\`\`\`

## Step: c — Clean
\`\`\`keel-command
run: df -h
\`\`\`
`

describe('parseRunbook', () => {
  it('reads front matter, intro and each step kind', () => {
    const result = parse(`${front(`roles: [sysadmin]
alerts: ['alertname="DiskFull"']
parameters:
  - { name: MOUNT, default: /, pattern: '/.*' }
`)}
Intro text.

## Step: check — Check usage
Prose.
- [ ] open the dashboard
- [x] note the host

## Step: usage — Show usage
\`\`\`keel-command
run: df -h "$MOUNT"
timeout: 10s
dangerous: true
\`\`\`

## Step: ping — Ask the API
\`\`\`keel-http
url: http://127.0.0.1/x/{{MOUNT}}
expectStatus: 204
\`\`\`

## Step: more — Related
\`\`\`keel-link
runbook: daily-health
\`\`\`

## Notes
Not a step.
`)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    const { runbook } = result
    expect(runbook.title).toBe('Disk full')
    expect(runbook.intro).toBe('Intro text.')
    expect(runbook.alerts[0]).toEqual([{ name: 'alertname', operator: '=', value: 'DiskFull' }])
    expect(runbook.steps.map((s) => [s.id, s.kind, s.title])).toEqual([
      ['check', 'checklist', 'Check usage'],
      ['usage', 'command', 'Show usage'],
      ['ping', 'http', 'Ask the API'],
      ['more', 'link', 'Related'],
    ])
    expect(runbook.steps[0]).toMatchObject({ items: ['open the dashboard', 'note the host'] })
    expect(runbook.steps[1]).toMatchObject({
      run: 'df -h "$MOUNT"',
      timeoutMs: 10_000,
      dangerous: true,
    })
    expect(runbook.steps[2]).toMatchObject({ method: 'GET', expectStatus: [204] })
    expect(runbook.steps[3]?.markdown).not.toContain('Not a step')
  })

  it.each([
    { name: 'no front matter', text: '# Hi\n', message: 'the file has no front matter' },
    {
      name: 'a missing title',
      text: '---\nroles: []\n---\n## Step: a\n',
      message: 'front matter `title`',
    },
    { name: 'no steps', text: front(), message: 'the runbook has no steps' },
    {
      name: 'a duplicate step id',
      text: `${front()}## Step: a\n## Step: a\n`,
      message: 'step id `a` is used twice',
    },
    {
      name: 'a bad step id',
      text: `${front()}## Step: Bad_Id — x\n`,
      message: 'must be lowercase letters',
    },
    {
      name: 'two keel blocks in one step',
      text: `${front()}## Step: a\n\`\`\`keel-command\nrun: x\n\`\`\`\n\`\`\`keel-command\nrun: y\n\`\`\`\n`,
      message: 'has 2 keel-* blocks',
    },
    {
      name: 'a command block without run',
      text: `${front()}## Step: a\n\`\`\`keel-command\ntimeout: 5s\n\`\`\`\n`,
      message: 'step `a` keel-command `run`',
    },
    {
      name: 'a bad alert matcher',
      text: `${front('alerts: [\'alertname=~"("\']\n')}## Step: a\n`,
      message: 'front matter `alerts.0`',
    },
    {
      name: 'a reserved parameter name',
      text: `${front('parameters: [{ name: IFS }]\n')}## Step: a\n`,
      message: 'is reserved',
    },
    {
      name: 'a jump to a missing step',
      text: tree('  - { label: yes, next: nowhere }\n  - { label: no, next: end }'),
      message: 'jumps to `nowhere`, which is no step',
    },
    {
      name: 'a decision tree that loops',
      text: tree('  - { label: yes, next: c }\n  - { label: again, next: a }'),
      message: 'the steps loop: `a` → `b` → `a`',
    },
    {
      name: 'a secret parameter in an HTTP step URL (URLs are shown and logged)',
      text: `${front('parameters: [{ name: TOKEN, secret: true }]\n')}## Step: a\n\`\`\`keel-http\nurl: https://api.example.org/?t={{TOKEN}}\n\`\`\`\n`,
      message: 'the url uses the secret parameter TOKEN',
    },
  ])('refuses $name', ({ text, message }) => {
    const result = parse(text)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.issues.map((i) => i.message).join('\n')).toContain(message)
  })

  it('accepts a loop when the runbook allows cycles', () => {
    const result = parse(
      tree('  - { label: yes, next: c }\n  - { label: again, next: a }', 'allowCycles: true\n'),
    )
    expect(result.ok).toBe(true)
  })

  it('ignores step headings inside fenced code', () => {
    const result = parse(
      `${front()}## Step: a — A\n\`\`\`markdown\n## Step: b — not a step\n\`\`\`\n`,
    )
    expect(result.ok && result.runbook.steps.map((s) => s.id)).toEqual(['a'])
  })
})

describe('keel-checklist blocks', () => {
  it('adds items and a jump to a checklist step', () => {
    const result = parse(
      `${front()}## Step: a — A\n- [ ] one\n\`\`\`keel-checklist\nitems: [two]\nnext: c\n\`\`\`\n## Step: b\n## Step: c\n`,
    )
    expect(result.ok && result.runbook.steps[0]).toMatchObject({
      kind: 'checklist',
      items: ['one', 'two'],
      next: 'c',
    })
  })
})
