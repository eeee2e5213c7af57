import { z } from 'zod'
import {
  defineChannel,
  settingMs,
  systemClock,
  timeoutSetting,
  type DeliveryOutcome,
  type NotificationMessage,
} from './channel.js'
import { escapeMarkdown, markdownLink, messageLinks, truncateText } from './channel-text.js'
import { postJson, type HttpAnswer } from './http-outcome.js'
import { slackColor } from './slack.js'

const discordConfigSchema = z.object({
  url: z
    .url({
      protocol: /^https?$/,
      error: 'url must be the http(s) webhook URL (https://discord.com/api/webhooks/<id>/<token>)',
    })
    .describe('The webhook URL; its last segment is the token, so keep it in ${ENV}.'),
  username: z
    .string()
    .min(1)
    .max(80, 'username must be at most 80 characters (a Discord limit)')
    .refine(
      (name) => !/discord|clyde/i.test(name),
      'username must not contain "discord" or "clyde"; Discord refuses such webhook names',
    )
    .optional()
    .describe('Overrides the webhook’s default name.'),
  avatarUrl: z
    .url({ protocol: /^https?$/, error: 'avatarUrl must be an http(s) image URL' })
    .optional()
    .describe('Overrides the webhook’s default avatar.'),
  timeout: timeoutSetting('timeout', '10s').describe('How long one attempt may take.'),
})

/** One embed field. */
export interface DiscordField {
  name: string
  value: string
  inline: boolean
}

/** The execute-webhook body Keel sends: one embed, and no mention may ping anyone. */
export interface DiscordPayload {
  username?: string
  avatar_url?: string
  embeds: [
    {
      title: string
      description?: string
      color: number
      fields: DiscordField[]
      timestamp: string
      url?: string
    },
  ]
  allowed_mentions: { parse: [] }
}

// Discord's documented embed limits; the total counts title, description and every field.
const limits = { title: 256, description: 4_096, fields: 25, name: 256, value: 1_024, total: 6_000 }

/**
 * Builds the webhook body. Title, description and field values are Markdown-escaped; an empty name or
 * value would make Discord refuse the whole message, so it becomes a dash.
 */
export function discordPayload(
  message: NotificationMessage,
  options: { username?: string; avatarUrl?: string } = {},
): DiscordPayload {
  // Discord reads Markdown in embed titles too, so the alert's title is escaped like the text.
  const title = `[${message.status.toUpperCase()}] ${fitEscaped(message.title, limits.title - 11)}`
  const description = fitEscaped(message.text, limits.description)
  const entries: [string, string][] = [
    ['severity', message.severity],
    ...Object.entries(message.labels)
      .filter(([name]) => name !== 'severity')
      .sort(([a], [b]) => a.localeCompare(b)),
  ]
  const fields: DiscordField[] = []
  let used = title.length + description.length
  // Link buttons need a Discord application, so one-click actions are masked links in a field,
  // placed first so that a long label list never pushes them out.
  const actions = actionsField(message)
  if (actions !== undefined && used + actions.name.length + actions.value.length <= limits.total) {
    fields.push(actions)
    used += actions.name.length + actions.value.length
  }
  for (const [index, [name, value]] of entries.entries()) {
    const left = entries.length - index
    if (fields.length === limits.fields - 1 && left > 1) {
      fields.push({ name: '…', value: `${left} more labels`, inline: true })
      break
    }
    const field = {
      name: orDash(truncateText(name, limits.name)),
      value: orDash(fitEscaped(value, limits.value)),
      inline: true,
    }
    if (used + field.name.length + field.value.length > limits.total) break
    used += field.name.length + field.value.length
    fields.push(field)
  }
  return {
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.avatarUrl === undefined ? {} : { avatar_url: options.avatarUrl }),
    embeds: [
      {
        title,
        ...(description.trim() === '' ? {} : { description }),
        color: Number.parseInt(slackColor(message).slice(1), 16),
        fields,
        timestamp: new Date(message.at).toISOString(),
        ...(message.url === undefined ? {} : { url: message.url }),
      },
    ],
    allowed_mentions: { parse: [] },
  }
}

/** The `Actions` field with one masked link per action that fits in a field value. */
function actionsField(message: NotificationMessage): DiscordField | undefined {
  if (!message.actions?.length) return undefined
  let value = ''
  for (const link of messageLinks(message)) {
    const piece = `${value === '' ? '' : ' · '}${markdownLink(link.label, link.url)}`
    if (value.length + piece.length > limits.value) break
    value += piece
  }
  return value === '' ? undefined : { name: 'Actions', value, inline: false }
}

function orDash(text: string): string {
  return text.trim() === '' ? '-' : text
}

/** Escapes then cuts to the limit, dropping a backslash the cut would leave dangling. */
function fitEscaped(text: string, maxLength: number): string {
  const escaped = escapeMarkdown(truncateText(text, maxLength))
  if (escaped.length <= maxLength) return escaped
  return truncateText(escaped, maxLength).replace(/(?<!\\)((?:\\\\)*)\\…$/, '$1…')
}

/** Reads Discord's 429 body, whose `retry_after` (seconds, fractional) is finer than the header. */
export function interpretDiscordAnswer(answer: HttpAnswer): DeliveryOutcome | undefined {
  if (answer.status !== 429) return undefined
  let reply: unknown
  try {
    reply = JSON.parse(answer.body)
  } catch {
    return undefined
  }
  const { retry_after: retryAfter, message } = (reply ?? {}) as {
    retry_after?: unknown
    message?: unknown
  }
  if (typeof retryAfter !== 'number' || !Number.isFinite(retryAfter) || retryAfter < 0) {
    return undefined
  }
  const said = typeof message === 'string' ? `: ${truncateText(message, 200)}` : ''
  return {
    kind: 'retry',
    reason: `${answer.what} answered HTTP 429${said}`,
    afterMs: Math.ceil(retryAfter * 1000),
  }
}

/** Posts an embed to a Discord channel webhook. */
export const discordChannel = defineChannel({
  kind: 'discord',
  description: 'post an embed to a Discord channel webhook',
  configSchema: discordConfigSchema,
  // The webhook URL ends in its token: anyone holding it can post.
  secretFields: ['url'],
  async send(config, message, context) {
    return postJson({
      channel: 'discord channel',
      url: config.url,
      body: JSON.stringify(discordPayload(message, config)),
      headers: { 'user-agent': 'Keel-Discord/1' },
      signal: context.signal,
      timeoutMs: settingMs(config.timeout) ?? 10_000,
      now: (context.clock ?? systemClock).now(),
      interpret: interpretDiscordAnswer,
      fields: { credentials: '`url` (the webhook may have been deleted)' },
    })
  },
})
