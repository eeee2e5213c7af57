import type { Generated } from 'kysely'

/** Row types of the access tables (added by migration 0008). */
export interface AccessTables {
  team_members: TeamMemberRow
  sessions: SessionRow
  login_attempts: LoginAttemptRow
  setup_links: SetupLinkRow
}

export interface TeamMemberRow {
  /** `users.username`, which is also the on-call user id. */
  username: string
  team: string
  /** The role the user has on objects of this team. */
  role: string
  created_at: number
}

export interface SessionRow {
  /** sha256 (hex) of the cookie value; the value itself is never stored. */
  id_hash: string
  /** The user of a password or OIDC login; null for a session opened with an API token. */
  username: string | null
  /** sha256 of the API token a token login used; every request re-checks that token. */
  token_hash: string | null
  created_at: number
  last_seen_at: number
  expires_at: number
  ip: string | null
  user_agent: string | null
  revoked_at: number | null
}

export interface LoginAttemptRow {
  id: Generated<number>
  /** `user:<name>` or `address:<ip>`: one row per failed login for each. */
  key: string
  at: number
}

export interface SetupLinkRow {
  id_hash: string
  username: string
  created_at: number
  expires_at: number
  used_at: number | null
}
