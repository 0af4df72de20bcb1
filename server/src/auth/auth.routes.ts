import { Router } from 'express';
import { z } from 'zod';
import type { AppContext, Feature } from '../context.js';
import { TandemError } from '../errors.js';
import { route } from '../http/route.js';

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'letters, digits, . _ - (max 63)');

/** Identity API: who am I, users (admin), teams, personal tokens. */
export function authFeature(ctx: AppContext): Feature {
  const api = Router();
  const { auth, openapi } = ctx;
  const tags = ['auth'];

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
      if (!caller.isAdmin) throw new TandemError('FORBIDDEN', 'only admins can create users');
      const user = await auth.createUser(body);
      const { token } = await auth.createToken(user.id, 'initial');
      return { user, token };
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
      params: z.object({ teamId: z.string().min(1) }),
      body: z.object({ user: name }),
    },
    async ({ caller, params, body }) => {
      const me = caller;
      const team = await auth.getTeam(params.teamId);
      if (!team || (!me.isAdmin && !me.teamIds.includes(team.id))) throw new TandemError('NOT_FOUND', `team ${params.teamId} not found`);
      const user = await auth.findUserByName(body.user);
      if (!user) throw new TandemError('NOT_FOUND', `user ${body.user} not found`);
      await auth.addMember(team.id, user.id);
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
    async ({ caller, body }) => auth.createToken(caller.id, body.name, body.kind),
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
      params: z.object({ tokenId: z.string().min(1) }),
    },
    async ({ caller, params }) => {
      await auth.revokeToken(caller.id, params.tokenId);
    },
  );

  return { name: 'auth', api };
}
