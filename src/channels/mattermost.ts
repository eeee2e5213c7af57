import { z } from 'zod'
import {
  defineChannel,
  settingMs,
  systemClock,
  timeoutSetting,
  type NotificationMessage,
} from './channel.js'
import { escapeMarkdown, markdownLink, messageLinks, truncateText } from './channel-text.js'
import { postJson } from './http-outcome.js'
import { slackColor, type SlackField } from './slack.js'

const mattermostConfigSchema = z.object({
  url: z
    .url({
      protocol: /^https?$/,
      error: 'url must be the http(s) incoming-webhook URL (…/hooks/<id>)',
    })
    .describe('The incoming-webhook URL; it is the credential, so keep it in ${ENV}.'),
  channel: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Overrides the webhook channel (its name, such as town-square), unless the webhook is locked.',
    ),
  username: z
    .string()
    .min(1)
    .optional()
    .describe('The name the post shows; the server must allow integrations to override it.'),
  iconUrl: z
    .url({ protocol: /^https?$/, error: 'iconUrl must be an http(s) image URL' })
    .optional()
    .describe('The avatar image; the server must allow integrations to override profile pictures.'),
  timeout: timeoutSetting('timeout', '10s').describe('How long one attempt may take.'),
})

/** The Slack-compatible incoming-webhook body Keel sends to Mattermost. */
export interface MattermostPayload {
  text: string
  channel?: string
  username?: string
  icon_url?: string
  attachments: [
    {
      fallback: string
      color: string
      title: string
      title_link?: string
      text: string
      fields: SlackField[]
      ts: number
    },
  ]
}

// Mattermost keeps at least 4,000 characters of a post's text (16,383 on current schemas), and
// attachments live in the post's props, which are capped far higher. Escaping can double a text.
const limits = { title: 256, attachmentText: 8_000, fieldTitle: 100, fieldValue: 1_000, fields: 40 }

/**
 * Escapes text for a Mattermost post: Markdown control characters get a backslash (which also
 * breaks Slack-style `<!channel>` and `<@id>` before the server expands them), and a word joiner
 * after `@` keeps labels from mentioning `@channel`, `@all`, `@here` or a user.
 */
export function escapeMattermostText(text: string): string {
  // The server splits words at characters other than letters, digits and `.-_:@`, so `@` plus
  // U+2060 reads as two words, neither a mention; after a letter or digit `@` is an address.
  return escapeMarkdown(text).replace(/(?<![\p{L}\p{N}])@/gu, '@\u2060')
}

/**
 * Builds the incoming-webhook body for a message. One-click actions are Markdown links in the
 * post text: attachment buttons post back to an integration server instead of opening a URL.
 */
export function mattermostPayload(
  message: NotificationMessage,
  options: { channel?: string; username?: string; iconUrl?: string } = {},
): MattermostPayload {
  const headline = `[${message.status.toUpperCase()}] ${message.title}`
  const labels = Object.entries(message.labels)
    .filter(([name]) => name !== 'severity')
    .sort(([a], [b]) => a.localeCompare(b))
  const entries: [string, string][] = [['severity', message.severity], ...labels]
  const fields: SlackField[] = entries.slice(0, limits.fields).map(([name, value]) => ({
    title: escapeMattermostText(truncateText(name, limits.fieldTitle)),
    value: escapeMattermostText(truncateText(value, limits.fieldValue)),
    short: true,
  }))
  if (entries.length > limits.fields) {
    fields.push({ title: '…', value: `${entries.length - limits.fields} more labels`, short: true })
  }
  const text = escapeMattermostText(truncateText(headline, limits.title))
  const links = message.actions?.length ? messageLinks(message) : []
  return {
    text:
      links.length === 0
        ? text
        : `${text}\n${links.map((link) => markdownLink(link.label, link.url)).join(' · ')}`,
    ...(options.channel === undefined ? {} : { channel: options.channel }),
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.iconUrl === undefined ? {} : { icon_url: options.iconUrl }),
    attachments: [
      {
        fallback: text,
        color: slackColor(message),
        title: escapeMattermostText(truncateText(message.title, limits.title)),
        ...(message.url === undefined ? {} : { title_link: message.url }),
        text: escapeMattermostText(truncateText(message.text, limits.attachmentText)),
        fields,
        ts: Math.floor(message.at / 1000),
      },
    ],
  }
}

/** Posts to a Mattermost incoming webhook, with Markdown and mentions in alert text neutralised. */
export const mattermostChannel = defineChannel({
  kind: 'mattermost',
  description: 'post to a Mattermost incoming webhook',
  configSchema: mattermostConfigSchema,
  // The incoming-webhook URL is the credential: anyone holding it can post.
  secretFields: ['url'],
  async send(config, message, context) {
    return postJson({
      channel: 'mattermost channel',
      url: config.url,
      body: JSON.stringify(mattermostPayload(message, config)),
      headers: { 'user-agent': 'Keel-Mattermost/1' },
      signal: context.signal,
      timeoutMs: settingMs(config.timeout) ?? 10_000,
      now: (context.clock ?? systemClock).now(),
      fields: {
        credentials:
          '`url`, and that the webhook allows the `channel`, `username` and `iconUrl` overrides',
      },
    })
  },
})
