import { z } from 'zod'
import { labelsSchema, monitorIdSchema } from '../checks/index.js'
import { safeLinkUrl } from '../safe-url.js'

/**
 * What an entity is. `system` groups others (Backstage's System); the rest are things operated,
 * from DESIGN.md's list.
 */
export const entityKinds = [
  'service',
  'website',
  'api',
  'database',
  'host',
  'network-device',
  'queue',
  'storage',
  'cloud-resource',
  'endpoint-device',
  'system',
] as const

/** One of `entityKinds`. */
export type EntityKind = (typeof entityKinds)[number]

/** Backstage's lifecycle values; Keel accepts any other slug too, as Backstage does. */
export const knownLifecycles = ['experimental', 'production', 'deprecated'] as const

/** Entity ids are slugs like monitor ids, since both appear in URLs and in `entity=` labels. */
export const entityIdSchema = monitorIdSchema

const linkSchema = z
  .object({
    title: z.string().min(1).max(200).optional(),
    url: z
      .url({ message: 'must be an absolute URL such as https://wiki.example.org/db-main' })
      .refine((url) => safeLinkUrl(url) !== undefined, {
        message:
          'must be an http(s) or mailto: URL such as https://wiki.example.org/db-main; other schemes (javascript:, data:, vbscript:) are refused',
      }),
  })
  .strict()

/** One catalog entity as written in keel.yaml or sent to the API (the id is the map key). */
export const entitySpecSchema = z
  .object({
    kind: z.enum(entityKinds, {
      error: (issue) =>
        `kind must be one of ${entityKinds.join(', ')}, got ${JSON.stringify(issue.input)}`,
    }),
    name: z.string().min(1).max(200).optional().describe('Display name; defaults to the id.'),
    description: z.string().max(2000).optional(),
    owner: z.string().min(1).max(200).optional().describe('The owning team id.'),
    tier: z
      .number()
      .int()
      .min(1, 'tier must be 1 (most critical) to 4')
      .max(4, 'tier must be 1 (most critical) to 4')
      .optional()
      .describe('1 is most critical, 4 least.'),
    lifecycle: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/, 'lifecycle must be a slug such as production or experimental')
      .optional(),
    system: entityIdSchema.optional().describe('The system entity this one belongs to.'),
    labels: labelsSchema.default({}),
    links: z.array(linkSchema).default([]),
    dependsOn: z
      .array(entityIdSchema)
      .default([])
      .describe('Ids of the entities this one needs to work.'),
    runbooks: z.array(z.string().min(1)).default([]).describe('Names of runbooks that apply.'),
  })
  .strict()

/** An entity spec as written, before defaults. */
export type EntitySpecInput = z.input<typeof entitySpecSchema>

/** An entity spec after parsing, with defaults applied. */
export type EntitySpec = z.output<typeof entitySpecSchema>

/** A catalog entity: its id and spec. */
export interface Entity extends EntitySpec {
  id: string
}
