import { z } from 'zod'
import {
  defineChannel,
  settingMs,
  systemClock,
  timeoutSetting,
  type NotificationMessage,
} from './channel.js'
import { messageLinks, truncateText } from './channel-text.js'
import { postJson } from './http-outcome.js'

const slackConfigSchema = z.object({
  url: z
    .url({ protocol: /^https?$/, error: 'url must be the http(s) incoming-webhook URL' })
    .describe('The incoming-webhook URL; it is the credential, so keep it in ${ENV}.'),
  channel: z
    .string()
    .min(1)
    .optional()
    .describe('Overrides the webhook default channel, where the server allows it.'),
  username: z.string().min(1).optional().describe('The name the message is posted under.'),
  iconEmoji: z
    .string()
    .regex(/^:[a-z0-9_+-]+:$/, 'iconEmoji must look like :rotating_light:')
    .optional()
    .describe('The avatar emoji, such as :rotating_light:.'),
  timeout: timeoutSetting('timeout', '10s').describe('How long one attempt may take.'),
})

/** One attachment field, as Slack and Mattermost render it. */
export interface SlackField {
  title: string
  value: string
  short: boolean
}

/** A Block Kit link button: following it opens `url`, no interactivity endpoint needed. */
export interface SlackButton {
  type: 'button'
  action_id: string
  text: { type: 'plain_text'; text: string }
  url: string
  style?: 'primary' | 'danger'
}

/** The Block Kit blocks Keel sends when a message has one-click actions. */
export type SlackBlock =
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'actions'; elements: SlackButton[] }

/** The incoming-webhook body Keel sends (Slack's legacy attachments, which Mattermost and Rocket.Chat also read). */
export interface SlackPayload {
  text: string
  /** Present only with actions; Slack then shows the blocks and uses `text` for notifications. */
  blocks?: SlackBlock[]
  channel?: string
  username?: string
  icon_emoji?: string
  attachments: [
    {
      color: string
      title: string
      title_link?: string
      text: string
      fields: SlackField[]
      ts: number
      fallback: string
    },
  ]
}

const colors = {
  resolved: '#2eb886',
  critical: '#d00000',
  warning: '#ff9900',
  info: '#439fe0',
  other: '#808080',
}

/** The attachment colour: green when resolved, else red, orange or blue by severity. */
export function slackColor(message: Pick<NotificationMessage, 'status' | 'severity'>): string {
  if (message.status === 'resolved') return colors.resolved
  const severity = message.severity.toLowerCase()
  if (severity === 'critical' || severity === 'error' || severity === 'page') return colors.critical
  if (severity === 'warning') return colors.warning
  if (severity === 'info') return colors.info
  return colors.other
}

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

// Block Kit limits: button text 75 characters, button URL 3,000, section text 3,000.
const limits = { buttonText: 75, buttonUrl: 3_000, section: 3_000 }

/**
 * Builds the incoming-webhook body for a message. One-click actions become link buttons in an
 * `actions` block, and `<url|label>` links in `text` for clients that read no blocks.
 */
export function slackPayload(
  message: NotificationMessage,
  options: { channel?: string; username?: string; iconEmoji?: string } = {},
): SlackPayload {
  const headline = `[${message.status.toUpperCase()}] ${message.title}`
  const fields: SlackField[] = [
    { title: 'severity', value: escapeSlackText(message.severity), short: true },
    ...Object.entries(message.labels)
      .filter(([name]) => name !== 'severity')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => ({ title: name, value: escapeSlackText(value), short: true })),
  ]
  const links = message.actions?.length ? messageLinks(message) : []
  const buttons: SlackButton[] = links
    .filter((link) => link.url.length <= limits.buttonUrl)
    .map((link) => ({
      type: 'button',
      action_id: `keel-${link.kind}`,
      text: { type: 'plain_text', text: truncateText(link.label, limits.buttonText) },
      url: link.url,
      ...(link.kind === 'acknowledge' ? { style: 'primary' as const } : {}),
    }))
  // Inside `<url|label>` only `&`, `<` and `>` need escaping, and a URL cannot hold `|` unencoded.
  const fallbackLinks = links
    .filter((link) => !link.url.includes('|'))
    .map((link) => `<${escapeSlackText(link.url)}|${escapeSlackText(link.label)}>`)
  const text = [
    escapeSlackText(headline),
    ...(fallbackLinks.length ? [fallbackLinks.join(' · ')] : []),
  ]
  return {
    text: text.join('\n'),
    ...(buttons.length === 0
      ? {}
      : {
          blocks: [
            {
              type: 'section' as const,
              text: {
                type: 'mrkdwn' as const,
                // Cut before escaping so no entity is split; escaping at most quintuples it.
                text: escapeSlackText(truncateText(headline, limits.section / 5)),
              },
            },
            { type: 'actions' as const, elements: buttons },
          ],
        }),
    ...(options.channel === undefined ? {} : { channel: options.channel }),
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.iconEmoji === undefined ? {} : { icon_emoji: options.iconEmoji }),
    attachments: [
      {
        color: slackColor(message),
        title: escapeSlackText(message.title),
        ...(message.url === undefined ? {} : { title_link: message.url }),
        text: escapeSlackText(message.text),
        fields,
        ts: Math.floor(message.at / 1000),
        fallback: escapeSlackText(headline),
      },
    ],
  }
}

/** Posts to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat). */
export const slackChannel = defineChannel({
  kind: 'slack',
  description: 'post to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat)',
  configSchema: slackConfigSchema,
  // The incoming-webhook URL is the credential: anyone holding it can post.
  secretFields: ['url'],
  async send(config, message, context) {
    return postJson({
      channel: 'slack channel',
      url: config.url,
      body: JSON.stringify(slackPayload(message, config)),
      headers: { 'user-agent': 'Keel-Slack/1' },
      signal: context.signal,
      timeoutMs: settingMs(config.timeout) ?? 10_000,
      now: (context.clock ?? systemClock).now(),
    })
  },
})
