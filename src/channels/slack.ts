import { z } from 'zod'
import {
  defineChannel,
  settingMs,
  systemClock,
  timeoutSetting,
  type NotificationMessage,
} from './channel.js'
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

/** The incoming-webhook body Keel sends (Slack's legacy attachments, which Mattermost and Rocket.Chat also read). */
export interface SlackPayload {
  text: string
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

/** Builds the incoming-webhook body for a message. */
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
  return {
    text: escapeSlackText(headline),
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
