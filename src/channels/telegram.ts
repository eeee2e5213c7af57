import { z } from 'zod'
import {
  defineChannel,
  settingMs,
  systemClock,
  timeoutSetting,
  type DeliveryOutcome,
  type NotificationMessage,
} from './channel.js'
import { messageLinks, truncateText, type MessageLink } from './channel-text.js'
import { postJson, type HttpAnswer } from './http-outcome.js'

const chatIdMessage =
  'chatId must be a numeric chat id such as -1001234567890 or a public channel such as @keel_alerts'

const telegramConfigSchema = z.object({
  // The message names the format only: a zod message must never echo the token back.
  botToken: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]+$/, 'botToken must look like 123456789:AAE… as @BotFather gives it')
    .describe('The bot token from @BotFather; keep it in ${ENV}.'),
  chatId: z
    .union(
      [
        z.number().int(chatIdMessage),
        z.string().regex(/^(-?\d+|@[A-Za-z][A-Za-z0-9_]{3,})$/, chatIdMessage),
      ],
      { error: chatIdMessage },
    )
    .describe('The chat to post to: a numeric id (groups are negative) or @channelusername.'),
  apiUrl: z
    .url({
      protocol: /^https?$/,
      error: 'apiUrl must be an http(s) URL such as https://api.telegram.org',
    })
    .default('https://api.telegram.org')
    .describe('The Bot API server; change it for a self-hosted telegram-bot-api server.'),
  parseMode: z
    .literal('HTML', { error: 'parseMode must be HTML; Keel escapes text for HTML only' })
    .default('HTML')
    .describe('How Telegram reads the text; Keel writes and escapes HTML.'),
  disableNotification: z
    .boolean()
    .optional()
    .describe('Deliver silently: members get the message without a sound.'),
  timeout: timeoutSetting('timeout', '10s').describe('How long one attempt may take.'),
})

/** The `sendMessage` body Keel sends. */
export interface TelegramPayload {
  chat_id: number | string
  text: string
  parse_mode: 'HTML'
  disable_web_page_preview: true
  disable_notification?: boolean
  /** One-click actions as URL buttons under the message. */
  reply_markup?: { inline_keyboard: TelegramUrlButton[][] }
}

/** An inline keyboard button that opens a URL. */
export interface TelegramUrlButton {
  text: string
  url: string
}

/**
 * True when the URL is safe for a button. Telegram refuses the whole message when a button points
 * at `localhost` (BUTTON_URL_INVALID); hosts without a dot and IP literals are kept out of
 * buttons too, and go in the text instead, where they stay clickable.
 */
function buttonUrlAccepted(url: string): boolean {
  let host: string
  try {
    host = new URL(url).hostname
  } catch {
    return false
  }
  return host.includes('.') && !/^[\d.]+$/.test(host) && !host.startsWith('[')
}

// Telegram counts 4,096 characters after parsing the HTML; counting the markup too keeps clear of it.
const maxTextLength = 4_096
const limits = { title: 256, labelName: 64, labelValue: 256, labels: 1_500 }

/** Escapes text for Telegram's HTML parse mode, which knows only these four entities. */
export function escapeTelegramHtml(text: string): string {
  return text.replace(/[&<>"]/g, (char) => htmlEntities[char] ?? char)
}

const htmlEntities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
}

/** Escapes text and cuts it, never inside an entity, so the escaped result has at most `maxLength` units. */
function escapeWithin(text: string, maxLength: number): string {
  const whole = escapeTelegramHtml(text)
  if (whole.length <= maxLength) return whole
  let kept = ''
  for (const char of text) {
    const piece = escapeTelegramHtml(char)
    if (kept.length + piece.length + 1 > maxLength) break
    kept += piece
  }
  return `${kept}…`
}

/** Builds the `sendMessage` body: bold headline, text, label lines, a link to Keel and action buttons. */
export function telegramPayload(
  message: NotificationMessage,
  options: { chatId: number | string; disableNotification?: boolean },
): TelegramPayload {
  const headline = `<b>${escapeWithin(`[${message.status.toUpperCase()}] ${message.title}`, limits.title)}</b>`
  const actions: MessageLink[] = messageLinks(message, { open: false })
  const buttons = actions.every((action) => buttonUrlAccepted(action.url)) ? actions : []
  const textLinks = (buttons.length === 0 ? actions : [])
    .map(
      (action) =>
        `<a href="${escapeTelegramHtml(action.url)}">${escapeTelegramHtml(action.label)}</a>`,
    )
    .join(' · ')
  const link =
    (message.url === undefined
      ? ''
      : `\n\n<a href="${escapeTelegramHtml(message.url)}">Open in Keel</a>`) +
    (textLinks === '' ? '' : `\n${textLinks}`)
  const entries: [string, string][] = [
    ['severity', message.severity],
    ...Object.entries(message.labels)
      .filter(([name]) => name !== 'severity')
      .sort(([a], [b]) => a.localeCompare(b)),
  ]
  let labels = ''
  for (const [name, value] of entries) {
    const line = `\n<b>${escapeWithin(name, limits.labelName)}</b>: ${escapeWithin(value, limits.labelValue)}`
    if (labels.length + line.length > limits.labels) break
    labels += line
  }
  const room = maxTextLength - headline.length - link.length - labels.length - 2
  const text = `${headline}\n${escapeWithin(message.text, room)}\n${labels}${link}`
  return {
    chat_id: options.chatId,
    text,
    parse_mode: 'HTML',
    disable_web_page_preview: true,
    ...(options.disableNotification === undefined
      ? {}
      : { disable_notification: options.disableNotification }),
    ...(buttons.length === 0
      ? {}
      : {
          reply_markup: {
            inline_keyboard: [buttons.map((button) => ({ text: button.label, url: button.url }))],
          },
        }),
  }
}

/** The parts of a Bot API error reply Keel acts on. */
interface TelegramError {
  description?: string
  retryAfter?: number
  migrateToChatId?: number
}

function parseTelegramError(body: string): TelegramError | undefined {
  let reply: unknown
  try {
    reply = JSON.parse(body)
  } catch {
    return undefined
  }
  if (typeof reply !== 'object' || reply === null) return undefined
  const { description, parameters } = reply as { description?: unknown; parameters?: unknown }
  const { retry_after: retryAfter, migrate_to_chat_id: migrateToChatId } =
    typeof parameters === 'object' && parameters !== null
      ? (parameters as { retry_after?: unknown; migrate_to_chat_id?: unknown })
      : {}
  return {
    ...(typeof description === 'string' ? { description } : {}),
    ...(typeof retryAfter === 'number' && retryAfter >= 0 ? { retryAfter } : {}),
    ...(typeof migrateToChatId === 'number' ? { migrateToChatId } : {}),
  }
}

/**
 * Maps a Bot API refusal using its JSON: `parameters.retry_after` on 429, the description and a
 * fix on 400/401/403/404. Other answers keep the generic mapping.
 */
export function interpretTelegramAnswer(answer: HttpAnswer): DeliveryOutcome | undefined {
  const reply = parseTelegramError(answer.body)
  if (reply === undefined) return undefined
  const said = reply.description === undefined ? '' : `: ${truncateText(reply.description, 200)}`
  const what = `${answer.what} answered HTTP ${answer.status}${said}`
  if (answer.status === 429 && reply.retryAfter !== undefined) {
    return { kind: 'retry', reason: what, afterMs: Math.ceil(reply.retryAfter * 1000) }
  }
  if (reply.migrateToChatId !== undefined) {
    return {
      kind: 'failed',
      reason: `${what}; the group became a supergroup, set \`chatId\` to ${reply.migrateToChatId}`,
    }
  }
  const hint = telegramHint(answer.status, reply.description ?? '')
  return hint === undefined ? undefined : { kind: 'failed', reason: `${what}; ${hint}` }
}

function telegramHint(status: number, description: string): string | undefined {
  if (status === 401) return 'check `botToken`; @BotFather can show or revoke it'
  if (status === 404) return 'check `botToken` and `apiUrl`; the Bot API does not know this bot'
  if (status === 403) return 'add the bot to the chat (or unblock it) and let it post there'
  if (status === 400 && /chat not found/i.test(description)) {
    return 'check `chatId`, and that the bot is a member of that chat'
  }
  if (status === 400) return 'Telegram rejected the message, and sending it again will not help'
  return undefined
}

/** Sends a message through a Telegram bot with the Bot API's `sendMessage`. */
export const telegramChannel = defineChannel({
  kind: 'telegram',
  description: 'send a message to a Telegram chat through a bot (Bot API sendMessage)',
  configSchema: telegramConfigSchema,
  secretFields: ['botToken'],
  async send(config, message, context) {
    const apiUrl = config.apiUrl.replace(/\/+$/, '')
    return postJson({
      channel: 'telegram channel',
      // The token sits in the path, so reasons name only the host and `secrets` scrubs the rest.
      url: `${apiUrl}/bot${config.botToken}/sendMessage`,
      body: JSON.stringify(telegramPayload(message, config)),
      headers: { 'user-agent': 'Keel-Telegram/1' },
      signal: context.signal,
      timeoutMs: settingMs(config.timeout) ?? 10_000,
      now: (context.clock ?? systemClock).now(),
      interpret: interpretTelegramAnswer,
      fields: { address: '`apiUrl`', credentials: '`botToken`' },
      secrets: [config.botToken],
    })
  },
})
