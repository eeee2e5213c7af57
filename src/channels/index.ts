import { z } from 'zod'
import { redactPaths } from '../core/config/index.js'
import type {
  AnyChannelDefinition,
  DeliveryOutcome,
  NotificationMessage,
  SendContext,
} from './channel.js'
import { discordChannel } from './discord.js'
import { emailChannel } from './email.js'
import { mattermostChannel } from './mattermost.js'
import { ntfyChannel } from './ntfy.js'
import { slackChannel } from './slack.js'
import { teamsChannel } from './teams.js'
import { telegramChannel } from './telegram.js'
import { webhookChannel } from './webhook.js'

// Re-exported so adapters and the engine need only this module.
export type {
  AnyChannelDefinition,
  ChannelDefinition,
  DeliveryOutcome,
  NotificationMessage,
  SendContext,
} from './channel.js'

/** Every channel kind Keel can deliver to; adding a channel means adding its definition here. */
export const channels: readonly AnyChannelDefinition[] = [
  webhookChannel,
  slackChannel,
  emailChannel,
  teamsChannel,
  mattermostChannel,
  telegramChannel,
  discordChannel,
  ntfyChannel,
]

/** The channel definition of a kind (`webhook`, `slack`, `email`), or undefined when unknown. */
export function findChannel(kind: string): AnyChannelDefinition | undefined {
  return channels.find((definition) => definition.kind === kind)
}

function specSchemaOf(definition: AnyChannelDefinition) {
  return z.object({ type: z.literal(definition.kind), ...definition.configSchema.shape }).strict()
}

type ChannelSpecMember = ReturnType<typeof specSchemaOf>

/**
 * One channel as written in keel.yaml: `type` names the kind and the other fields are that
 * kind's config. Parsing a parsed spec again gives the same spec, so the outbox can store it.
 */
export const channelSpecSchema = z.discriminatedUnion(
  'type',
  channels.map(specSchemaOf) as [ChannelSpecMember, ...ChannelSpecMember[]],
)

/** A parsed channel spec. */
export type ChannelSpec = z.output<typeof channelSpecSchema>

/** A copy of a spec with each secret field replaced by `<redacted>`, for logs, the API and `keel config`. */
export function redactChannelSpec(spec: ChannelSpec): ChannelSpec {
  const definition = findChannel(spec.type)
  if (definition === undefined) return spec
  return redactPaths(spec, definition.secretFields, '<redacted>')
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.')
      return path === '' ? issue.message : `\`${path}\`: ${issue.message}`
    })
    .join('; ')
}

/**
 * Validates a spec and sends one message through its channel. Never throws: an invalid spec is
 * `failed`, and an unexpected error inside a channel becomes `retry` so the outbox keeps the row.
 */
export async function sendNotification(
  spec: ChannelSpec,
  message: NotificationMessage,
  context: SendContext,
): Promise<DeliveryOutcome> {
  const kind: unknown = (spec as { type?: unknown }).type
  const definition = typeof kind === 'string' ? findChannel(kind) : undefined
  if (definition === undefined) {
    const known = channels.map((channel) => channel.kind).join(', ')
    return {
      kind: 'failed',
      reason: `channel type ${JSON.stringify(kind)} is unknown; use one of ${known}`,
    }
  }
  const parsed = specSchemaOf(definition).safeParse(spec)
  if (!parsed.success) {
    return {
      kind: 'failed',
      reason: `${definition.kind} channel config is invalid: ${describeIssues(parsed.error)}`,
    }
  }
  const { type: _type, ...config } = parsed.data
  try {
    return await definition.send(config, message, context)
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    return { kind: 'retry', reason: `${definition.kind} channel threw unexpectedly: ${detail}` }
  }
}
