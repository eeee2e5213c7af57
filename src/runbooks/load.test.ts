import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadRunbooks } from './load.js'

const handbook = fileURLToPath(new URL('../../examples/handbook/', import.meta.url))

describe('loadRunbooks', () => {
  it('loads a folder in name order, leaves out broken files with their problems, and skips README.md', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-load-'))
    try {
      writeFileSync(join(dir, 'b.md'), '---\ntitle: B\n---\n## Step: one\n- [ ] x\n')
      writeFileSync(join(dir, 'a.md'), '---\ntitle: A\n---\n## Step: one\n- [ ] x\n')
      writeFileSync(join(dir, 'README.md'), '# about this folder\n')
      writeFileSync(join(dir, 'broken.md'), '---\ntitle: X\nunknownField: 1\n---\n## Step: one\n')
      const library = await loadRunbooks([dir, join(dir, 'a.md'), join(dir, 'missing')])
      expect(library.runbooks.map((r) => r.name)).toEqual(['a', 'b'])
      expect(library.issues.map((i) => [i.file.slice(dir.length), i.message])).toEqual([
        ['/broken.md', expect.stringContaining('unknownField')],
        ['/a.md', expect.stringContaining('is also used by')],
        ['/missing', expect.stringContaining('does not exist')],
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('loads every handbook runbook without a problem, and every link points at one', async () => {
    const library = await loadRunbooks([join(handbook, 'runbooks')])
    expect(library.issues).toEqual([])
    const names = library.runbooks.map((r) => r.name)
    expect(names).toEqual([
      'daily-health-checks',
      'disk-full-linux',
      'dns-resolution-failure',
      'incident-response',
      'postgres-backup-restore-drill',
      'rollback-deployment',
      'tls-certificate-renewal',
    ])
    for (const runbook of library.runbooks) {
      for (const step of runbook.steps) {
        if (step.kind === 'link') expect(names).toContain(step.runbook)
      }
    }
  })

  it('has an overview page per role whose runbook links all resolve', () => {
    const pages = readdirSync(join(handbook, 'roles')).sort()
    expect(pages).toEqual([
      'automation.md',
      'cloud.md',
      'dba.md',
      'network.md',
      'security.md',
      'sre.md',
      'support.md',
      'sysadmin.md',
    ])
    const runbooks = readdirSync(join(handbook, 'runbooks'))
    for (const page of pages) {
      const text = readFileSync(join(handbook, 'roles', page), 'utf8')
      expect(text).toContain('**Escalation path:**')
      const links = [...text.matchAll(/\.\.\/runbooks\/([a-z0-9-]+\.md)/g)].map((m) => m[1])
      expect(links.length).toBeGreaterThan(0)
      for (const link of links) expect(runbooks).toContain(link)
    }
  })
})
