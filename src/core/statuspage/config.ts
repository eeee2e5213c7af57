import { z } from 'zod'

const monitorRef = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,127}$/,
    '`monitor` must be the id of a monitor under `monitors`, such as shop-home',
  )

const componentSchema = z
  .object({
    monitor: monitorRef.describe('The monitor whose state and uptime this component shows.'),
    name: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe("Name shown to the public; defaults to the monitor's `name`, else its id."),
    description: z.string().trim().max(1000).optional(),
  })
  .strict()

const groupSchema = z
  .object({
    name: z.string().trim().min(1, '`name` must not be empty; the page shows it').max(200),
    components: z.array(componentSchema).min(1, 'list at least one component'),
  })
  .strict()

// A logo is shown without the page fetching anything from elsewhere unless the operator says so.
const logoSchema = z
  .string()
  .max(65_536)
  .refine(
    (value) => /^(?:https?:\/\/|\/|data:image\/(?:png|svg\+xml|jpeg|gif|webp);base64,)/.test(value),
    {
      message:
        'must be an http(s) URL, a path on this server such as /logo.svg, or a data:image/...;base64, URI',
    },
  )

/** The `statusPage` section of keel.yaml: what the public status page shows and how. */
export const statusPageConfigSchema = z
  .object({
    title: z.string().trim().min(1).max(200).default('Status').describe('Page title.'),
    description: z.string().trim().max(1000).optional().describe('A line under the title.'),
    logoUrl: logoSchema.optional().describe('Logo shown beside the title.'),
    publicUrl: z
      .url({
        protocol: /^https?$/,
        message: 'must be an http(s) URL such as https://status.example.org',
      })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional()
      .describe(
        'Where the public reaches the page; feeds link there (default: server.publicUrl + /status).',
      ),
    cacheSeconds: z
      .number()
      .int()
      .min(1)
      .max(300)
      .default(10)
      .describe('How long one snapshot of the page is served before it is recomputed.'),
    showIncidents: z.boolean().default(true).describe('Show incidents of public components.'),
    historyDays: z
      .number()
      .int()
      .min(0)
      .max(90)
      .default(7)
      .describe('How many days of resolved incidents the page and feeds list.'),
    groups: z
      .array(groupSchema)
      .optional()
      .describe(
        'Groups of public components; without it, every monitor marked `public: true` is shown in one group.',
      ),
  })
  .strict()

/** The parsed `statusPage` section. */
export type StatusPageConfig = z.output<typeof statusPageConfigSchema>

/** The `statusPage` section as written. */
export type StatusPageConfigInput = z.input<typeof statusPageConfigSchema>

/** One problem with the status page's references to monitors. */
export interface StatusPageReferenceIssue {
  path: (string | number)[]
  message: string
}

/**
 * Components that name a monitor the config does not define, or a monitor twice. Defensive on
 * partly invalid input, so `keel validate` shows these beside other problems.
 */
export function statusPageReferenceIssues(
  section: unknown,
  monitors: readonly string[],
): StatusPageReferenceIssue[] {
  const issues: StatusPageReferenceIssue[] = []
  if (typeof section !== 'object' || section === null) return issues
  const groups = (section as { groups?: unknown }).groups
  if (!Array.isArray(groups)) return issues
  const seen = new Set<string>()
  groups.forEach((group: unknown, g) => {
    const components = (group as { components?: unknown } | null)?.components
    if (!Array.isArray(components)) return
    components.forEach((component: unknown, c) => {
      const id = (component as { monitor?: unknown } | null)?.monitor
      if (typeof id !== 'string') return
      const path = ['statusPage', 'groups', g, 'components', c, 'monitor']
      if (!monitors.includes(id)) {
        issues.push({
          path,
          message: `unknown monitor \`${id}\`; a component must name a monitor defined under \`monitors\``,
        })
      } else if (seen.has(id)) {
        issues.push({ path, message: `monitor \`${id}\` is listed twice; list each monitor once` })
      }
      seen.add(id)
    })
  })
  return issues
}
