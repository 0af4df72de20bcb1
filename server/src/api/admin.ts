import type { Page } from './common.js';
import type { Team, User, UserSummary } from './users.js';

/** `GET /admin/users?q=` (admins): every account with its state, by name. */
export type UserPage<Time = string> = Page<User<Time>>;

/** A team with its members, as `GET /admin/teams` lists it (admins). */
export interface TeamWithMembers extends Team {
  members: UserSummary[];
}

export type TeamPage = Page<TeamWithMembers>;

/** `PUT /users/:userId/admin` (admins): makes the user an admin or not; nobody can unmake themselves. */
export interface SetAdminRequest {
  isAdmin: boolean;
}
