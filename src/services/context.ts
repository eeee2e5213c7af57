import type { Clock } from '../core/time.js'
import type { Db } from '../store/dialect.js'

/** Who is acting and from where, for authorisation and the audit trail. */
export interface Actor {
  name: string
  role: 'viewer' | 'responder' | 'operator' | 'admin'
  /** The client address, when the action came over HTTP. */
  source?: string
  /** The login user acting (also the on-call user of that id), when it is a person. */
  user?: string
  /** The API token acting, when it is a token (directly or through a token login). */
  tokenId?: string
  /**
   * The person behind the actor, for rules about people such as the two-person rule: `user:<id>`
   * for a login user, the user a followed link was sent to, or a token's owner (`user:<id>`,
   * `cli:<os user>`, `system`). Absent means the actor is its own person (see `personOf`).
   */
  person?: string
  /**
   * Team scope: when present, the actor may edit only objects of these teams, with the role
   * given per team (see `requireTeamAccess` in src/services/auth.ts). Absent means no scope.
   */
  teams?: Readonly<Record<string, 'viewer' | 'responder' | 'operator' | 'admin'>>
}

/** The person behind an actor: `person` when known, else the actor's own name. */
export function personOf(actor: Pick<Actor, 'name' | 'person'>): string {
  return actor.person ?? actor.name
}

/** What every service function needs: the store, the clock and the actor. */
export interface ServiceContext {
  db: Db
  clock: Clock
  actor: Actor
}
