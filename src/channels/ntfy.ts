import { z } from 'zod'
import {
  defineChannel,
  settingMs,
  systemClock,
  timeoutSetting,
  type NotificationMessage,
} from './channel.js'
import { messageLinks, truncateText, truncateUtf8 } from './channel-text.js'
import { postJson } from './http-outcome.js'

const ntfyConfigSchema = z.object({
  server: z
    .url({ protocol: /^https?$/, error: 'server must be an http(s) URL such as https://ntfy.sh' })
    .default('https://ntfy.sh')
    .describe('The ntfy server; change it for a self-hosted one.'),
  topic: z
    .string()
    .regex(
      /^[-_A-Za-z0-9]{1,64}$/,
      'topic must be 1 to 64 letters, digits, - or _ (ntfy topic names)',
    )
    .describe('The topic to publish to; on a public server its name is all that guards it.'),
  token: z
    .string()
    .min(1, 'token must not be empty; leave it out for a topic anyone may publish to')
    .optional()
    .describe('An access token (tk_…), sent as a Bearer token, for protected topics.'),
  timeout: timeoutSetting('timeout', '10s').describe('How long one attempt may take.'),
})

/** The JSON publish body Keel sends (https://docs.ntfy.sh/publish/#publish-as-json). */
export interface NtfyPayload {
  topic: string
  title: string
  message: string
  /** 1 (min) to 5 (max, "urgent"). */
  priority: 1 | 2 | 3 | 4 | 5
  /** Emoji short codes become icons; other tags are shown as words. */
  tags: string[]
  click?: string
  /** Buttons that open a URL (ntfy's `view` action); ntfy takes at most three. */
  actions?: NtfyViewAction[]
}

/** An ntfy `view` action: a button that opens `url` (https://docs.ntfy.sh/publish/#open-websiteapp). */
export interface NtfyViewAction {
  action: 'view'
  label: string
  url: string
  /** Dismisses the notification once the button is tapped. */
  clear: boolean
}

// ntfy turns messages over 4,096 bytes (its default message-size-limit) into attachments or
// refuses them; titles have no documented limit, so they get a readable one.
const limits = { messageBytes: 4_096, title: 256, tag: 64, actions: 3 }

/** The ntfy priority: 5 (urgent) for critical, 4 error, 3 warning, 2 info and resolved, 3 otherwise. */
export function ntfyPriority(
  message: Pick<NotificationMessage, 'status' | 'severity'>,
): NtfyPayload['priority'] {
  if (message.status === 'resolved') return 2
  const severity = message.severity.toLowerCase()
  if (severity === 'critical' || severity === 'page') return 5
  if (severity === 'error') return 4
  if (severity === 'info') return 2
  return 3
}

/**
 * Builds the JSON publish body: title, text with label lines, priority, tags, a click link, and
 * one-click actions as `view` buttons (then "Open in Keel" when there is room for it).
 */
export function ntfyPayload(message: NotificationMessage, topic: string): NtfyPayload {
  const labels = Object.entries(message.labels)
    .filter(([name]) => name !== 'severity')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}: ${value}`)
  const body = [message.text, '', `severity: ${message.severity}`, ...labels].join('\n')
  // Tags are comma-separated on the wire, so a comma in the severity would split it.
  const severityTag = truncateText(message.severity.replace(/[,\s]+/g, '_'), limits.tag)
  const emoji = message.status === 'resolved' ? 'white_check_mark' : 'rotating_light'
  const actions: NtfyViewAction[] = (message.actions?.length ? messageLinks(message) : [])
    .slice(0, limits.actions)
    .map((link) => ({
      action: 'view',
      label: link.label,
      url: link.url,
      clear: link.kind !== 'open',
    }))
  return {
    topic,
    title: truncateText(`[${message.status.toUpperCase()}] ${message.title}`, limits.title),
    message: truncateUtf8(body, limits.messageBytes),
    priority: ntfyPriority(message),
    tags: severityTag === '' ? [emoji] : [emoji, severityTag],
    ...(message.url === undefined ? {} : { click: message.url }),
    ...(actions.length === 0 ? {} : { actions }),
  }
}

/**
 * Publishes to an ntfy topic. Keel uses the JSON publish API (POST to the server root) rather
 * than `Title`/`Tags` headers: HTTP header values are Latin-1 at best, so a title with an emoji,
 * an umlaut or CJK text would need RFC 2047 encoding that not every ntfy version or proxy
 * decodes, and a label with a newline could break the header. JSON carries UTF-8 as is.
 */
export const ntfyChannel = defineChannel({
  kind: 'ntfy',
  description: 'publish a push notification to an ntfy topic',
  configSchema: ntfyConfigSchema,
  secretFields: ['token'],
  async send(config, message, context) {
    const headers: Record<string, string> = { 'user-agent': 'Keel-Ntfy/1' }
    if (config.token !== undefined) headers.authorization = `Bearer ${config.token}`
    return postJson({
      channel: 'ntfy channel',
      url: `${config.server.replace(/\/+$/, '')}/`,
      body: JSON.stringify(ntfyPayload(message, config.topic)),
      headers,
      signal: context.signal,
      timeoutMs: settingMs(config.timeout) ?? 10_000,
      now: (context.clock ?? systemClock).now(),
      fields: { address: '`server`', credentials: '`token` (and its access to `topic`)' },
      ...(config.token === undefined ? {} : { secrets: [config.token] }),
    })
  },
})
