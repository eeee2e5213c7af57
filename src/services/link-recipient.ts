import { getUser } from '../store/auth.js'
import { listChannels } from '../store/channels.js'
import type { Executor } from '../store/dialect.js'
import type { Actor } from './context.js'
import { readOncallConfig } from './oncall.js'

/** The actor a followed one-click link acts as, or why the link no longer acts for anyone. */
export type LinkRecipientResult = { ok: true; actor: Actor } | { ok: false; message: string }

/**
 * Who a one-click link acts for, checked when it is followed: the on-call user it was sent to
 * (`alice` → `user:alice via link`), refused while their login is disabled or once they exist
 * neither as a login user nor in the on-call configuration; or the channel a message without a
 * person went to (`channel:ops` → `channel:ops via link`), refused once the channel is deleted.
 */
export async function linkRecipientActor(
  db: Executor,
  recipient: string,
  source?: string,
): Promise<LinkRecipientResult> {
  const from = source !== undefined ? { source } : {}
  if (recipient.startsWith('channel:')) {
    const slug = recipient.slice('channel:'.length)
    if (!(await listChannels(db)).some((channel) => channel.slug === slug)) {
      return {
        ok: false,
        message: `This link was sent to channel ${slug}, which no longer exists; use the incident page instead.`,
      }
    }
    return { ok: true, actor: { name: `${recipient} via link`, role: 'responder', ...from } }
  }
  const user = await getUser(db, recipient)
  if (user?.disabled === true) {
    return {
      ok: false,
      message: `This link was sent to ${recipient}, whose account is disabled; it no longer acts for anyone. Use the incident page instead.`,
    }
  }
  if (user === undefined && !Object.hasOwn((await readOncallConfig(db)).users, recipient)) {
    return {
      ok: false,
      message: `This link was sent to ${recipient}, who is no longer a Keel or on-call user; use the incident page instead.`,
    }
  }
  return {
    ok: true,
    actor: {
      name: `user:${recipient} via link`,
      role: 'responder',
      person: `user:${recipient}`,
      ...from,
    },
  }
}
