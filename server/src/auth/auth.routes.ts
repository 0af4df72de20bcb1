import { Router } from 'express';
import { z } from 'zod';
import type { AppContext, Feature } from '../context.js';
import type { Team } from './auth.store.js';
import type { Principal } from './principal.js';
import { TandemError } from '../errors.js';
import { route } from '../http/route.js';

const ID = z.string().min(1).max(100);
const userParams = z.object({ userId: ID });
const teamParams = z.object({ teamId: ID });
const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'letters, digits, . _ - (max 63)');

/** Identity API: who am I, users (admins create, deactivate and see their tokens), teams, personal tokens. */
export function authFeature(ctx: AppContext): Feature {
  const api = Router();
  const { auth, openapi } = ctx;
  const tags = ['auth'];

  /** The team, to its members and admins; NOT_FOUND to everyone else, so team ids do not leak. */
  async function teamOf(caller: Principal, teamId: string): Promise<Team> {
    const team = await auth.getTeam(teamId);
    if (!team || (!caller.isAdmin && !caller.teamIds.includes(team.id))) throw new TandemError('NOT_FOUND', `team ${teamId} not found`);
    return team;
  }

  route(api, openapi, { method: 'get', path: '/me', auth: 'user', summary: 'The calling user', tags }, async ({ caller }) => {
    const me = caller;
    return { id: me.id, name: me.name, displayName: me.displayName, isAdmin: me.isAdmin, teamIds: me.teamIds };
  });

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/users',
      auth: 'admin',
      summary: 'Create a user and a first API token (admins only)',
      tags,
      status: 201,
      body: z.object({ name, displayName: z.string().min(1).max(200).optional(), isAdmin: z.boolean().optional() }),
    },
    async ({ caller, body }) => {
      const user = await auth.createUser(body, caller);
      const { id: tokenId, token } = await auth.createToken(user.id, 'initial', 'user', caller);
      return { user, token, tokenId };
    },
  );

  route(
    api,
    openapi,
    {
      method: 'patch',
      path: '/users/:userId',
      auth: 'admin',
      summary: 'Deactivate or reactivate a user (admins only); a deactivated user’s tokens stop working at once',
      tags,
      params: userParams,
      body: z.object({ active: z.boolean() }),
    },
    async ({ caller, params, body }) => {
      if (params.userId === caller.id && !body.active) throw new TandemError('INVALID_ARGUMENT', 'you cannot deactivate yourself');
      return auth.setActive(params.userId, body.active, caller);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/users/:userId/admin',
      auth: 'admin',
      summary: 'Make a user an admin or not (admins only); nobody can unmake themselves, so an admin always remains',
      tags,
      params: userParams,
      body: z.object({ isAdmin: z.boolean() }),
    },
    async ({ caller, params, body }) => {
      if (params.userId === caller.id && !body.isAdmin)
        throw new TandemError('INVALID_ARGUMENT', 'you cannot remove your own admin rights');
      return auth.setAdmin(params.userId, body.isAdmin, caller);
    },
  );

  route(
    api,
    openapi,
    { method: 'get', path: '/users/:userId/tokens', auth: 'admin', summary: 'A user’s API tokens (admins only)', tags, params: userParams },
    async ({ params }) => {
      if (!(await auth.getUser(params.userId))) throw new TandemError('NOT_FOUND', `user ${params.userId} not found`);
      return { tokens: await auth.listTokens(params.userId) };
    },
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/users/:userId/tokens/:tokenId',
      auth: 'admin',
      summary: 'Revoke any of a user’s tokens (admins only)',
      tags,
      params: userParams.extend({ tokenId: ID }),
    },
    async ({ caller, params }) => {
      await auth.revokeToken(params.userId, params.tokenId, caller);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/users',
      auth: 'user',
      summary: 'Find users by name (for sharing)',
      tags,
      query: z.object({ q: z.string().max(100).default('') }),
    },
    async ({ query }) => {
      const users = await auth.searchUsers(query.q);
      return { users: users.map((u) => ({ id: u.id, name: u.name, displayName: u.displayName })) };
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/teams',
      auth: 'user',
      summary: 'Create a team; the caller becomes a member',
      tags,
      status: 201,
      body: z.object({ name }),
    },
    async ({ caller, body }) => auth.createTeam(body.name, caller.id),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/teams/:teamId/members',
      auth: 'user',
      summary: 'Add a user to a team (members and admins)',
      tags,
      params: teamParams,
      body: z.object({ user: name }),
    },
    async ({ caller, params, body }) => {
      const team = await teamOf(caller, params.teamId);
      const user = await auth.findUserByName(body.user);
      if (!user) throw new TandemError('NOT_FOUND', `user ${body.user} not found`);
      await auth.addMember(team.id, user.id, caller);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/teams/:teamId/members/:userId',
      auth: 'user',
      summary: 'Remove a user from a team (members and admins); what the team was granted is theirs no more',
      tags,
      params: teamParams.extend({ userId: ID }),
    },
    async ({ caller, params }) => {
      const team = await teamOf(caller, params.teamId);
      await auth.removeMember(team.id, params.userId, caller);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/teams/:teamId',
      auth: 'user',
      summary: 'Delete a team and every grant made to it (members and admins)',
      tags,
      params: teamParams,
    },
    async ({ caller, params }) => {
      const team = await teamOf(caller, params.teamId);
      await auth.deleteTeam(team.id, caller);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/tokens',
      auth: 'user',
      summary: 'Create an API token for the caller; worker tokens can only use the worker API',
      tags,
      status: 201,
      body: z.object({ name: z.string().min(1).max(100), kind: z.enum(['user', 'worker']).default('user') }),
    },
    async ({ caller, body }) => {
      // A job's token lives as long as the job, a kernel's as long as its session: neither may outlive it through a token of its own.
      if (caller.tokenKind === 'job' || caller.tokenKind === 'kernel')
        throw new TandemError('FORBIDDEN', `a ${caller.tokenKind}’s token cannot create tokens`);
      return auth.createToken(caller.id, body.name, body.kind, caller);
    },
  );

  route(
    api,
    openapi,
    { method: 'get', path: '/tokens', auth: 'user', summary: 'The caller’s API tokens (names and dates; never the values)', tags },
    async ({ caller }) => ({ tokens: await auth.listTokens(caller.id) }),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/tokens/:tokenId',
      auth: 'user',
      summary: 'Revoke one of the caller’s tokens',
      tags,
      params: z.object({ tokenId: ID }),
    },
    async ({ caller, params }) => {
      await auth.revokeToken(caller.id, params.tokenId, caller);
    },
  );

  return { name: 'auth', api };
}
