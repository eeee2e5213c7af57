import type { Clock } from '../core/time.js'
import type { Db } from '../store/dialect.js'

/** Who is acting and from where, for authorisation and the audit trail. */
export interface Actor {
  name: string
  role: 'viewer' | 'responder' | 'operator' | 'admin'
  /** The client address, when the action came over HTTP. */
  source?: string
}

/** What every service function needs: the store, the clock and the actor. */
export interface ServiceContext {
  db: Db
  clock: Clock
  actor: Actor
}
