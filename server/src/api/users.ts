import type { Role } from './common.js';

/** `GET /me`: the calling user. */
export interface Me {
  id: string;
  name: string;
  displayName: string;
  isAdmin: boolean;
  teamIds: string[];
}

/** A user account; the server holds `Date`s, the wire ISO strings. */
export interface User<Time = string> {
  id: string;
  name: string;
  displayName: string;
  isAdmin: boolean;
  /** False once an admin deactivated the user: none of their tokens works. */
  active: boolean;
  createdAt: Time;
}

/** `GET /users?q=` answers `{ users }` with these (for sharing by name). */
export type UserSummary = Pick<User, 'id' | 'name' | 'displayName'>;

export interface UserList {
  users: UserSummary[];
}

/** `POST /users` (admins). */
export interface CreateUserRequest {
  name: string;
  displayName?: string;
  isAdmin?: boolean;
}

/** What `POST /users` answers: the user and their first API token. */
export interface CreatedUser<Time = string> {
  user: User<Time>;
  token: string;
  tokenId: string;
}

/** `PATCH /users/:userId` (admins). */
export interface UpdateUserRequest {
  active: boolean;
}

/** `PUT /users/:userId/password` (admins): sets or resets a password, clears a lockout and ends the user's sessions. */
export interface SetPasswordRequest {
  /** At least 12 characters, and not the user's name. */
  password: string;
}

/** `PUT /me/password`: ends the caller's other sessions. */
export interface ChangePasswordRequest {
  current: string;
  password: string;
}

/** `POST /sessions`: sign in with a password; the answer sets the `tandem_session` cookie. */
export interface SignInRequest {
  name: string;
  password: string;
}

/**
 * What `POST /sessions` and `GET /sessions/current` answer. Requests authenticated by the session
 * cookie that change anything (not GET/HEAD/OPTIONS) must send `csrfToken` as `X-CSRF-Token`.
 */
export interface SignedIn {
  user: Me;
  csrfToken: string;
}

export interface Team {
  id: string;
  name: string;
}

/** `POST /teams`. */
export interface CreateTeamRequest {
  name: string;
}

/** `POST /teams/:teamId/members`. */
export interface AddMemberRequest {
  /** The user's name. */
  user: string;
}

/**
 * A person's token, a worker agent's (only the worker API), the short-lived one a job acts with
 * as its submitter (made by the server when a worker claims the job), or a kernel's: minted by a
 * browser session for the person's kernels, it works only while that session does. Job and
 * kernel tokens cannot mint tokens or use admin routes.
 */
export type TokenKind = 'user' | 'worker' | 'job' | 'kernel';

/** `POST /tokens`. */
export interface CreateTokenRequest {
  name: string;
  kind?: Exclude<TokenKind, 'job' | 'kernel'>;
}

/** `POST /sessions/current/tokens` (session cookie and CSRF token only): a kernel token for the signed-in person. */
export interface CreateKernelTokenRequest {
  /** Shown in token lists, e.g. the kernel's id. */
  name?: string;
}

/** What `POST /sessions/current/tokens` answers; the token ends with the session, at `expiresAt` at the latest. */
export interface KernelToken {
  id: string;
  token: string;
  expiresAt: string;
}

/**
 * `POST /sessions/key`: single-person mode only (no TANDEM_AUTH). The key in `<TANDEM_HOME>/sign-in-key`,
 * which `npm start` hands to JupyterLab, starts a session for the local user; it is no API token.
 */
export interface KeySignInRequest {
  key: string;
}

/** What `POST /tokens` answers; the value is shown once and never kept. */
export interface CreatedToken {
  id: string;
  token: string;
}

/** A token as `GET /tokens` lists it: names and dates, never the value. */
export interface TokenInfo<Time = string> {
  id: string;
  name: string;
  kind: TokenKind;
  createdAt: Time;
  lastUsedAt: Time | null;
  revokedAt: Time | null;
}

export interface TokenList<Time = string> {
  tokens: TokenInfo<Time>[];
}

// ---- sharing: every shareable resource answers `<resource>/grants` the same way

export type PrincipalType = 'user' | 'team';

export interface PrincipalRef {
  type: PrincipalType;
  id: string;
}

/** A user or team, by name. */
export interface Grantee {
  type: PrincipalType;
  name: string;
}

/** One role on a resource, with the user's or team's name (its id when the principal is gone). */
export interface Grant {
  principal: PrincipalRef;
  name: string;
  role: Role;
}

/** `GET <resource>/grants`, and `PUT <resource>/grants` after the change. */
export interface GrantList {
  grants: Grant[];
}

/** `PUT <resource>/grants`: role null removes access. */
export interface ShareRequest extends Grantee {
  role: Role | null;
}
