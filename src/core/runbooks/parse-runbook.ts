import type { z } from 'zod'
import {
  checklistBlockSchema,
  commandBlockSchema,
  decisionBlockSchema,
  frontMatterSchema,
  httpBlockSchema,
  linkBlockSchema,
  type Runbook,
  type RunbookStep,
} from './model.js'
import { stepGraphIssues } from './step-graph.js'

/** A YAML parser, passed in so the core stays free of I/O libraries. */
export type ParseYaml = (text: string) => unknown

/** One problem with a runbook file, with the line it is on when known. */
export interface RunbookIssue {
  line?: number
  message: string
}

/** A parsed runbook, or every problem found in the file. */
export type ParseRunbookResult =
  { ok: true; runbook: Runbook } | { ok: false; issues: RunbookIssue[] }

const stepHeading = /^##\s+Step:\s*([^\s—–]+)\s*(?:(?:—|–|-{1,2})\s*(.*?))?\s*#*\s*$/
const anyLevelTwo = /^##\s/
const fenceOpen = /^(```+|~~~+)\s*([\w-]*)\s*$/
const checklistItem = /^\s*[-*+]\s+\[[ xX]\]\s+(.+)$/
const stepIdPattern = /^[a-z0-9][a-z0-9-]*$/
const keelBlocks = [
  'keel-command',
  'keel-http',
  'keel-decision',
  'keel-link',
  'keel-checklist',
] as const

interface Section {
  id: string
  title: string
  line: number
  lines: { text: string; line: number }[]
}

function zodIssues(error: z.ZodError, prefix: string, line: number | undefined): RunbookIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.')
    const at = path === '' ? prefix : `${prefix} \`${path}\``
    return { ...(line !== undefined ? { line } : {}), message: `${at}: ${issue.message}` }
  })
}

function splitFrontMatter(lines: string[]): { yaml: string; bodyStart: number } | undefined {
  if (lines[0]?.trim() !== '---') return undefined
  const end = lines.findIndex((line, index) => index > 0 && /^(---|\.\.\.)\s*$/.test(line))
  if (end < 0) return undefined
  return { yaml: lines.slice(1, end).join('\n'), bodyStart: end + 1 }
}

interface Block {
  info: string
  body: string
  line: number
}

function scanSection(section: Section): { blocks: Block[]; items: string[] } {
  const blocks: Block[] = []
  const items: string[] = []
  let fence: { marker: string; info: string; line: number; body: string[] } | undefined
  for (const { text, line } of section.lines) {
    if (fence) {
      if (text.trim().startsWith(fence.marker) && text.trim().replace(/[`~]/g, '') === '') {
        blocks.push({ info: fence.info, body: fence.body.join('\n'), line: fence.line })
        fence = undefined
      } else fence.body.push(text)
      continue
    }
    const open = fenceOpen.exec(text)
    if (open) {
      fence = { marker: open[1] as string, info: open[2] ?? '', line, body: [] }
      continue
    }
    const item = checklistItem.exec(text)
    if (item) items.push((item[1] as string).trim())
  }
  return { blocks, items }
}

function buildStep(
  section: Section,
  parseYaml: ParseYaml,
  defaultTimeoutMs: number,
): { step?: RunbookStep; issues: RunbookIssue[] } {
  const { blocks, items } = scanSection(section)
  const markdown = section.lines
    .map((l) => l.text)
    .join('\n')
    .trim()
  const base = { id: section.id, title: section.title, markdown, line: section.line }
  const keel = blocks.filter((b) => (keelBlocks as readonly string[]).includes(b.info))
  const where = `step \`${section.id}\``
  if (keel.length > 1) {
    return {
      issues: [
        {
          line: keel[1]?.line ?? section.line,
          message: `${where} has ${keel.length} keel-* blocks; a step is one command, HTTP call, decision or link, so split it into several steps`,
        },
      ],
    }
  }
  const block = keel[0]
  if (block === undefined) return { step: { ...base, kind: 'checklist', items }, issues: [] }
  if (items.length > 0 && block.info !== 'keel-checklist') {
    return {
      issues: [
        {
          line: section.line,
          message: `${where} mixes \`- [ ]\` checklist items with a ${block.info} block; move the items into a step of their own`,
        },
      ],
    }
  }
  let raw: unknown
  try {
    raw = parseYaml(block.body)
  } catch (error) {
    return {
      issues: [
        {
          line: block.line,
          message: `${where}: the ${block.info} block is not valid YAML: ${(error as Error).message}`,
        },
      ],
    }
  }
  const prefix = `${where} ${block.info}`
  switch (block.info) {
    case 'keel-checklist': {
      const parsed = checklistBlockSchema.safeParse(raw ?? {})
      if (!parsed.success) return { issues: zodIssues(parsed.error, prefix, block.line) }
      const { next } = parsed.data
      return {
        step: {
          ...base,
          kind: 'checklist',
          items: [...items, ...parsed.data.items],
          ...(next !== undefined ? { next } : {}),
        },
        issues: [],
      }
    }
    case 'keel-command': {
      const parsed = commandBlockSchema.safeParse(raw)
      if (!parsed.success) return { issues: zodIssues(parsed.error, prefix, block.line) }
      const { timeout, next, ...rest } = parsed.data
      return {
        step: {
          ...base,
          kind: 'command',
          ...rest,
          timeoutMs: timeout ?? defaultTimeoutMs,
          ...(next !== undefined ? { next } : {}),
        },
        issues: [],
      }
    }
    case 'keel-http': {
      const parsed = httpBlockSchema.safeParse(raw)
      if (!parsed.success) return { issues: zodIssues(parsed.error, prefix, block.line) }
      const { timeout, next, expectStatus, body, ...rest } = parsed.data
      return {
        step: {
          ...base,
          kind: 'http',
          ...rest,
          ...(body !== undefined ? { body } : {}),
          ...(expectStatus !== undefined ? { expectStatus: [expectStatus].flat() } : {}),
          timeoutMs: timeout ?? Math.min(defaultTimeoutMs, 30_000),
          ...(next !== undefined ? { next } : {}),
        },
        issues: [],
      }
    }
    case 'keel-decision': {
      const parsed = decisionBlockSchema.safeParse(raw)
      if (!parsed.success) return { issues: zodIssues(parsed.error, prefix, block.line) }
      return { step: { ...base, kind: 'decision', ...parsed.data }, issues: [] }
    }
    default: {
      const parsed = linkBlockSchema.safeParse(raw)
      if (!parsed.success) return { issues: zodIssues(parsed.error, prefix, block.line) }
      const { next, note, runbook } = parsed.data
      return {
        step: {
          ...base,
          kind: 'link',
          runbook,
          ...(note !== undefined ? { note } : {}),
          ...(next !== undefined ? { next } : {}),
        },
        issues: [],
      }
    }
  }
}

/**
 * Parses a runbook file: YAML front matter between `---` lines, then markdown in which each
 * `## Step: <id> — <title>` heading starts a step (see docs/runbooks.md for the syntax).
 */
export function parseRunbook(
  file: { name: string; text: string },
  parseYaml: ParseYaml,
): ParseRunbookResult {
  const lines = file.text.replace(/\r\n?/g, '\n').split('\n')
  const front = splitFrontMatter(lines)
  if (front === undefined) {
    return {
      ok: false,
      issues: [
        {
          line: 1,
          message:
            'the file has no front matter; start it with a `---` line, `title: …`, and a closing `---` line',
        },
      ],
    }
  }
  const issues: RunbookIssue[] = []
  let rawFront: unknown
  try {
    rawFront = parseYaml(front.yaml)
  } catch (error) {
    return {
      ok: false,
      issues: [
        { line: 2, message: `the front matter is not valid YAML: ${(error as Error).message}` },
      ],
    }
  }
  const parsedFront = frontMatterSchema.safeParse(rawFront ?? {})
  if (!parsedFront.success) issues.push(...zodIssues(parsedFront.error, 'front matter', undefined))

  const intro: string[] = []
  const sections: Section[] = []
  let current: Section | undefined
  let inFence: string | undefined
  for (let index = front.bodyStart; index < lines.length; index++) {
    const text = lines[index] as string
    const line = index + 1
    const fence = fenceOpen.exec(text) ?? /^(```+|~~~+)/.exec(text)
    if (inFence === undefined && fence) inFence = fence[1]
    else if (inFence !== undefined && text.trim().startsWith(inFence)) inFence = undefined
    else if (inFence === undefined) {
      const heading = stepHeading.exec(text)
      if (heading) {
        const id = heading[1] as string
        if (!stepIdPattern.test(id) || id === 'end') {
          issues.push({
            line,
            message: `step id ${JSON.stringify(id)} must be lowercase letters, digits and dashes (and not \`end\`), e.g. \`check-disk\``,
          })
        }
        if (sections.some((s) => s.id === id)) {
          issues.push({
            line,
            message: `step id \`${id}\` is used twice; give each step its own id`,
          })
        }
        current = { id, title: (heading[2] ?? '').trim() || id, line, lines: [] }
        sections.push(current)
        continue
      }
      if (anyLevelTwo.test(text)) current = undefined
    }
    if (current) current.lines.push({ text, line })
    else if (sections.length === 0) intro.push(text)
  }
  if (sections.length === 0) {
    issues.push({
      message:
        'the runbook has no steps; add at least one `## Step: <id> — <title>` heading (see docs/runbooks.md)',
    })
  }
  const defaultTimeout = parsedFront.success ? parsedFront.data.timeout : 300_000
  const steps: RunbookStep[] = []
  for (const section of sections) {
    const built = buildStep(section, parseYaml, defaultTimeout)
    issues.push(...built.issues)
    if (built.step) steps.push(built.step)
  }
  if (issues.length === 0 && parsedFront.success) {
    issues.push(...stepGraphIssues(steps, { allowCycles: parsedFront.data.allowCycles }))
    issues.push(...secretUrlIssues(steps, parsedFront.data.parameters))
  }
  if (issues.length > 0 || !parsedFront.success) return { ok: false, issues }
  return {
    ok: true,
    runbook: {
      ...parsedFront.data,
      name: file.name,
      intro: intro.join('\n').trim(),
      steps,
      source: file.text,
    },
  }
}

// A URL is shown in plans, output and logs, so a secret parameter may reach an HTTP step only
// through a header or the body.
function secretUrlIssues(
  steps: readonly RunbookStep[],
  parameters: readonly { name: string; secret: boolean }[],
): RunbookIssue[] {
  const secrets = new Set(parameters.filter((p) => p.secret).map((p) => p.name))
  const issues: RunbookIssue[] = []
  for (const step of steps) {
    if (step.kind !== 'http') continue
    for (const match of step.url.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)) {
      const name = match[1] as string
      if (!secrets.has(name)) continue
      issues.push({
        message: `step \`${step.id}\`: the url uses the secret parameter ${name}, and a URL is shown and logged; pass it in a header (e.g. \`Authorization: Bearer {{${name}}}\`) or the body`,
      })
    }
  }
  return issues
}
