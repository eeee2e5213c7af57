import { z } from 'zod'
import {
  defineChannel,
  settingMs,
  systemClock,
  timeoutSetting,
  type DeliveryOutcome,
  type NotificationMessage,
} from './channel.js'
import { messageLinks, truncateText, truncateUtf8 } from './channel-text.js'
import { postJson, type HttpAnswer } from './http-outcome.js'

const teamsConfigSchema = z.object({
  url: z
    .url({
      protocol: /^https?$/,
      error: 'url must be the http(s) URL of a Teams Workflows webhook or incoming webhook',
    })
    .describe('The Workflows (or legacy incoming) webhook URL; it is the credential.'),
  timeout: timeoutSetting('timeout', '10s').describe('How long one attempt may take.'),
})

/** A TextBlock colour from the Adaptive Card host's palette. */
export type TeamsColor = 'Good' | 'Attention' | 'Warning' | 'Accent' | 'Default'

/** One Adaptive Card fact: a label name and its value. */
export interface TeamsFact {
  title: string
  value: string
}

/** The message Keel posts: one Adaptive Card 1.4 attachment, which Workflows and connectors both read. */
export interface TeamsPayload {
  type: 'message'
  attachments: [
    {
      contentType: 'application/vnd.microsoft.card.adaptive'
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json'
        type: 'AdaptiveCard'
        version: '1.4'
        body: TeamsCardElement[]
        actions?: TeamsOpenUrl[]
        msteams: { width: 'Full' }
      }
    },
  ]
}

/** A card button that opens a link: one-click acknowledge/resolve, then "Open in Keel". */
export interface TeamsOpenUrl {
  type: 'Action.OpenUrl'
  title: string
  url: string
  style?: 'positive'
}

/**
 * A run of literal text: unlike a TextBlock (or a FactSet, whose values are Markdown too), a
 * TextRun is never read as Markdown, so alert text cannot add links or formatting.
 */
export interface TeamsTextRun {
  type: 'TextRun'
  text: string
  size?: 'Medium'
  weight?: 'Bolder'
  color?: TeamsColor
}

/** A paragraph of literal text runs. */
export interface TeamsRichText {
  type: 'RichTextBlock'
  inlines: TeamsTextRun[]
  spacing?: 'None'
}

/** The card elements Keel uses. */
export type TeamsCardElement =
  | {
      type: 'TextBlock'
      text: string
      wrap: true
      isSubtle?: true
      spacing?: 'None'
    }
  | TeamsRichText
  | { type: 'Container'; items: TeamsRichText[] }

// Teams refuses messages over about 28 KB; the rest of the card stays well under the margin.
const maxCardBytes = 24_000
const limits = { title: 256, text: 4_000, factTitle: 100, factValue: 500, facts: 30 }

/** The title colour: green when resolved, else red, orange or blue by severity. */
export function teamsColor(message: Pick<NotificationMessage, 'status' | 'severity'>): TeamsColor {
  if (message.status === 'resolved') return 'Good'
  const severity = message.severity.toLowerCase()
  if (severity === 'critical' || severity === 'error' || severity === 'page') return 'Attention'
  if (severity === 'warning') return 'Warning'
  if (severity === 'info') return 'Accent'
  return 'Default'
}

/** One label as a line of literal text: the name in bold, then its value. */
function factLine(fact: TeamsFact): TeamsRichText {
  return {
    type: 'RichTextBlock',
    inlines: [
      { type: 'TextRun', text: fact.title, weight: 'Bolder' },
      { type: 'TextRun', text: `: ${fact.value}` },
    ],
    spacing: 'None',
  }
}

/**
 * Builds the Adaptive Card message. Everything that comes from an alert (title, text, labels) goes
 * in TextRuns, which Teams shows literally: a summary like `[click](https://evil.example)` stays
 * that text. Only Keel's own line (the time) is a TextBlock.
 */
export function teamsPayload(message: NotificationMessage): TeamsPayload {
  const labels = Object.entries(message.labels)
    .filter(([name]) => name !== 'severity')
    .sort(([a], [b]) => a.localeCompare(b))
  const facts: TeamsFact[] = [
    { title: 'severity', value: message.severity },
    ...labels.map(([name, value]) => ({ title: name, value })),
  ]
    .slice(0, limits.facts)
    .map((fact) => ({
      title: truncateText(fact.title, limits.factTitle),
      value: truncateText(fact.value, limits.factValue),
    }))
  const omitted = labels.length + 1 - facts.length
  if (omitted > 0) facts.push({ title: '…', value: `${omitted} more labels` })

  // Each action is a signed link that opens a confirmation page, so no Bot Framework is needed.
  const actions: TeamsOpenUrl[] = messageLinks(message).map((link) => ({
    type: 'Action.OpenUrl',
    title: link.label,
    url: link.url,
    ...(link.kind === 'acknowledge' ? { style: 'positive' as const } : {}),
  }))
  const status = message.status === 'resolved' ? 'RESOLVED' : 'FIRING'
  const at = new Date(message.at).toISOString().slice(0, 19).replace('T', ' ')
  const payload: TeamsPayload = {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'RichTextBlock',
              inlines: [
                {
                  type: 'TextRun',
                  text: truncateText(`[${status}] ${message.title}`, limits.title),
                  size: 'Medium',
                  weight: 'Bolder',
                  color: teamsColor(message),
                },
              ],
            },
            {
              type: 'TextBlock',
              text: `${message.status === 'resolved' ? 'Resolved' : 'Fired'} at ${at} UTC`,
              wrap: true,
              isSubtle: true,
              spacing: 'None',
            },
            {
              type: 'RichTextBlock',
              inlines: [{ type: 'TextRun', text: truncateText(message.text, limits.text) }],
            },
            { type: 'Container', items: facts.map(factLine) },
          ],
          ...(actions.length === 0 ? {} : { actions }),
          msteams: { width: 'Full' },
        },
      },
    ],
  }
  return fitCard(payload)
}

/** Shortens the longest parts until the card is under the size Teams accepts, even for CJK text. */
function fitCard(payload: TeamsPayload): TeamsPayload {
  const body = payload.attachments[0].content.body
  const size = () => Buffer.byteLength(JSON.stringify(payload), 'utf8')
  const facts = body[3]
  const text = body[2]?.type === 'RichTextBlock' ? body[2].inlines[0] : undefined
  if (facts?.type === 'Container') {
    while (size() > maxCardBytes && facts.items.length > 1) facts.items.pop()
  }
  const excess = size() - maxCardBytes
  if (excess > 0 && text !== undefined) {
    const bytes = Buffer.byteLength(text.text, 'utf8')
    text.text = truncateUtf8(text.text, Math.max(0, bytes - excess))
  }
  return payload
}

// Legacy Office 365 connectors answer 200 and put the real failure in the body; success is a
// number (MicrosoftDocs/msteams-docs#9064). Workflows webhooks answer 202 with an empty body.
const connectorFailure = /delivery failed with error: .*?HTTP error (\d{3})/i

/** Reads a legacy connector's 200 answer, whose body says whether Teams accepted the card. */
export function interpretTeamsAnswer(answer: HttpAnswer): DeliveryOutcome | undefined {
  if (answer.status < 200 || answer.status >= 300) return undefined
  const body = answer.body.trim()
  if (body === '' || /^\d+$/.test(body)) return undefined
  if (!/delivery failed|error contacting/i.test(body)) return undefined
  const said = truncateText(body.replace(/\s+/g, ' '), 200)
  const inner = Number(connectorFailure.exec(body)?.[1] ?? 0)
  const reason = `${answer.what} answered HTTP ${answer.status} but reported: ${said}`
  if (inner === 429 || inner >= 500 || inner === 0) return { kind: 'retry', reason }
  if (inner === 413) {
    return { kind: 'failed', reason: `${reason}; Teams refuses cards this large` }
  }
  return {
    kind: 'failed',
    reason: `${reason}; check \`url\`, the channel or the connector may have been removed`,
  }
}

/** Posts an Adaptive Card to a Microsoft Teams Workflows webhook or legacy incoming webhook. */
export const teamsChannel = defineChannel({
  kind: 'teams',
  description: 'post an Adaptive Card to a Microsoft Teams Workflows or incoming webhook',
  configSchema: teamsConfigSchema,
  // The webhook URL carries its signature (`sig=`): anyone holding it can post.
  secretFields: ['url'],
  async send(config, message, context) {
    return postJson({
      channel: 'teams channel',
      url: config.url,
      body: JSON.stringify(teamsPayload(message)),
      headers: { 'user-agent': 'Keel-Teams/1' },
      signal: context.signal,
      timeoutMs: settingMs(config.timeout) ?? 10_000,
      now: (context.clock ?? systemClock).now(),
      interpret: interpretTeamsAnswer,
      interpretSuccess: true,
      fields: { credentials: '`url` (the webhook may have been deleted or its signature changed)' },
    })
  },
})
