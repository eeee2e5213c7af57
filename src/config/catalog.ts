import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { parse } from 'yaml'
import { buildCatalogGraph, type Entity, type EntitySpec } from '../core/catalog/index.js'
import { applyProvidedApis, parseBackstageCatalog, type BackstageTeam } from './backstage.js'
import type { ConfigIssue } from './issues.js'
import type { LoadResult } from './load.js'

/** The catalog a config describes, imports read: entity specs by id and where each came from. */
export interface CatalogState {
  entities: Record<string, EntitySpec>
  /** For each id, the file that defined it: the keel.yaml file, or an imported catalog file. */
  sources: Record<string, string>
  /** Backstage Groups found in imports (owner names). */
  teams: BackstageTeam[]
  /** Documents skipped on import, one sentence each. */
  warnings: string[]
}

type Loaded = Extract<LoadResult, { ok: true }>

const globChars = /[*?[]/

function globToRegExp(pattern: string): RegExp {
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of folders, none included.
      source += pattern[i + 2] === '/' ? '(?:[^/]+/)*' : '.*'
      i += pattern[i + 2] === '/' ? 2 : 1
    } else if (c === '*') source += '[^/]*'
    else if (c === '?') source += '[^/]'
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${source}$`)
}

/**
 * The files one `imports` entry names, relative to `baseDir`: the file itself, or every file a
 * glob (`*`, `**`, `?`) matches, in code-unit order. Hidden folders are skipped.
 */
export async function expandImport(
  entry: string,
  baseDir: string,
): Promise<{ files: string[] } | { error: string }> {
  const full = path.resolve(baseDir, entry)
  if (!globChars.test(entry)) {
    try {
      if (!(await stat(full)).isFile()) return { error: `${entry} is not a file` }
    } catch {
      return { error: `${entry}: no such file (paths are relative to the config file)` }
    }
    return { files: [path.join(baseDir, entry)] }
  }
  const parts = entry.split('/')
  const firstGlob = parts.findIndex((part) => globChars.test(part))
  const root = path.join(baseDir, ...parts.slice(0, firstGlob))
  const matcher = globToRegExp(parts.slice(firstGlob).join('/'))
  let found: string[]
  try {
    found = (await readdir(root, { recursive: true })).map((f) => f.split(path.sep).join('/'))
  } catch {
    return {
      error: `${entry}: folder ${parts.slice(0, firstGlob).join('/') || '.'} does not exist`,
    }
  }
  const files: string[] = []
  for (const candidate of found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (candidate.split('/').some((part) => part.startsWith('.'))) continue
    if (!matcher.test(candidate)) continue
    const file = path.join(root, candidate)
    if ((await stat(file)).isFile()) files.push(file)
  }
  if (files.length === 0)
    return { error: `${entry} matches no files; fix the pattern or remove it from catalog.imports` }
  return { files }
}

/** Which config file defines each inline entity: the last one that mentions it. */
function inlineSources(loaded: Loaded, ids: readonly string[]): Promise<Record<string, string>> {
  const sources: Record<string, string> = {}
  const only = loaded.files.length === 1 ? loaded.files[0] : undefined
  if (only !== undefined) {
    for (const id of ids) sources[id] = only
    return Promise.resolve(sources)
  }
  return (async () => {
    for (const file of loaded.files) {
      let doc: unknown
      try {
        doc = parse(await readFile(file, 'utf8'))
      } catch {
        continue
      }
      const entities = (doc as { catalog?: { entities?: unknown } } | null)?.catalog?.entities
      if (typeof entities !== 'object' || entities === null) continue
      for (const id of Object.keys(entities)) if (ids.includes(id)) sources[id] = file
    }
    for (const id of ids) sources[id] ??= loaded.files[loaded.files.length - 1] ?? 'keel.yaml'
    return sources
  })()
}

/**
 * Reads the Backstage files `catalog.imports` names, merges them with `catalog.entities` (an
 * entity written in keel.yaml replaces an imported one of the same id) and checks the whole
 * graph: every problem is a config issue naming the file and the field.
 */
export async function resolveCatalog(
  loaded: Loaded,
  baseDir: string,
): Promise<{ ok: true; catalog: CatalogState } | { ok: false; issues: ConfigIssue[] }> {
  const section = loaded.config.catalog
  const issues: ConfigIssue[] = []
  const entities = new Map<string, Entity>()
  const sources: Record<string, string> = {}
  const teams: BackstageTeam[] = []
  const warnings: string[] = []
  const provides: { api: string; component: string }[] = []
  const configFile = loaded.files[0]
  for (const [index, entry] of section.imports.entries()) {
    const expanded = await expandImport(entry, baseDir)
    if ('error' in expanded) {
      issues.push({
        ...(configFile !== undefined ? { file: configFile } : {}),
        path: `catalog.imports[${index}]`,
        message: expanded.error,
      })
      continue
    }
    for (const file of expanded.files) {
      const parsed = parseBackstageCatalog(await readFile(file, 'utf8'), file)
      for (const error of parsed.errors) issues.push({ path: '', message: error })
      warnings.push(...parsed.warnings)
      teams.push(...parsed.teams)
      provides.push(...parsed.provides)
      for (const entity of parsed.entities) {
        const other = sources[entity.id]
        if (other !== undefined) {
          issues.push({
            file,
            path: '',
            message: `entity ${entity.id} is also defined in ${other}; each imported entity must be defined once (rename one, or give it a namespace)`,
          })
          continue
        }
        entities.set(entity.id, entity)
        sources[entity.id] = file
      }
    }
  }
  const inlineIds = Object.keys(section.entities)
  const inline = await inlineSources(loaded, inlineIds)
  for (const id of inlineIds) {
    entities.set(id, { id, ...(section.entities[id] as EntitySpec) })
    sources[id] = inline[id] as string
  }
  applyProvidedApis([...entities.values()], provides)
  for (const issue of buildCatalogGraph([...entities.values()]).issues) {
    const inlineEntity = Object.hasOwn(section.entities, issue.entity)
    issues.push({
      file: sources[issue.entity] ?? configFile ?? 'keel.yaml',
      path: inlineEntity ? `catalog.entities.${issue.entity}.${issue.field}` : '',
      message: issue.message,
    })
  }
  if (issues.length > 0) return { ok: false, issues }
  const specs: Record<string, EntitySpec> = {}
  for (const [id, entity] of [...entities].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { id: _id, ...spec } = entity
    specs[id] = spec
  }
  return { ok: true, catalog: { entities: specs, sources, teams, warnings } }
}

/** Adds the resolved catalog to a loaded config, or turns the load into its catalog issues. */
export async function withCatalog(loaded: Loaded, baseDir: string): Promise<LoadResult> {
  const resolved = await resolveCatalog(loaded, baseDir)
  return resolved.ok ? { ...loaded, catalog: resolved.catalog } : resolved
}
