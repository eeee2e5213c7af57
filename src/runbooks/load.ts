import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { parseRunbook, type Runbook } from '../core/runbooks/index.js'

/** One problem with a runbook file: the file, the line when known, and the message. */
export interface RunbookFileIssue {
  file: string
  line?: number
  message: string
}

/** The runbooks found in some folders, and the problems with the files that were not loaded. */
export interface RunbookLibrary {
  runbooks: Runbook[]
  issues: RunbookFileIssue[]
}

/** Files that document a folder rather than being runbooks. */
const skipped = new Set(['readme.md', 'index.md'])

async function markdownFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const files: string[] = []
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) files.push(...(await markdownFiles(full)))
    else if (
      entry.isFile() &&
      entry.name.endsWith('.md') &&
      !skipped.has(entry.name.toLowerCase())
    ) {
      files.push(full)
    }
  }
  return files
}

/** Parses one runbook text; the name is the file name without `.md`. */
export function parseRunbookFile(file: string, text: string): ReturnType<typeof parseRunbook> {
  return parseRunbook({ name: path.basename(file, '.md'), text }, (yaml) => parseYaml(yaml))
}

/**
 * Loads every `*.md` runbook under the given folders (or single files), in name order. A file
 * with problems is left out and its problems reported; a name used twice keeps the first.
 */
export async function loadRunbooks(paths: readonly string[]): Promise<RunbookLibrary> {
  const runbooks: Runbook[] = []
  const issues: RunbookFileIssue[] = []
  const seen = new Map<string, string>()
  for (const entry of paths) {
    let files: string[]
    try {
      files = entry.endsWith('.md') ? [entry] : await markdownFiles(entry)
    } catch (error) {
      const code = (error as { code?: string }).code
      issues.push({
        file: entry,
        message:
          code === 'ENOENT'
            ? 'the runbooks folder does not exist; create it or fix `runbooks.paths` in keel.yaml'
            : `cannot read the runbooks folder: ${(error as Error).message}`,
      })
      continue
    }
    for (const file of files) {
      const text = await readFile(file, 'utf8')
      const result = parseRunbookFile(file, text)
      if (!result.ok) {
        issues.push(...result.issues.map((issue) => ({ file, ...issue })))
        continue
      }
      const first = seen.get(result.runbook.name)
      if (first !== undefined) {
        issues.push({
          file,
          message: `runbook name ${result.runbook.name} is also used by ${first}; rename one of the files`,
        })
        continue
      }
      seen.set(result.runbook.name, file)
      runbooks.push(result.runbook)
    }
  }
  runbooks.sort((a, b) => a.name.localeCompare(b.name))
  return { runbooks, issues }
}
