import { Router } from 'express';
import { z } from 'zod';
import type { AppContext, Feature } from '../context.js';
import { TandemError } from '../errors.js';
import { route } from '../http/route.js';
import { requirePrincipal } from './principal.js';

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'letters, digits, . _ - (max 63)');

/** Identity API: who am I, users (admin), teams, personal tokens. */
export function authFeature(ctx: AppContext): Feature {
  const api = Router();
  const { auth, openapi } = ctx;
  const tags = ['auth'];

  route(api, openapi, { method: 'get', path: '/me', summary: 'The calling user', tags }, async ({ req }) => {
    const me = requirePrincipal(req);
    return { id: me.id, name: me.name, displayName: me.displayName, isAdmin: me.isAdmin, teamIds: me.teamIds };
  });

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/users',
      summary: 'Create a user and a first API token (admins only)',
      tags,
      status: 201,
      body: z.object({ name, displayName: z.string().min(1).max(200).optional(), isAdmin: z.boolean().optional() }),
    },
    async ({ req, body }) => {
      if (!requirePrincipal(req).isAdmin) throw new TandemError('FORBIDDEN', 'only admins can create users');
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
      summary: 'Find users by name (for sharing)',
      tags,
      query: z.object({ q: z.string().max(100).default('') }),
    },
    async ({ req, query }) => {
      requirePrincipal(req);
      const users = await auth.searchUsers(query.q);
      return { users: users.map((u) => ({ id: u.id, name: u.name, displayName: u.displayName })) };
    },
  );

  route(
    api,
    openapi,
    { method: 'post', path: '/teams', summary: 'Create a team; the caller becomes a member', tags, status: 201, body: z.object({ name }) },
    async ({ req, body }) => auth.createTeam(body.name, requirePrincipal(req).id),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/teams/:teamId/members',
      summary: 'Add a user to a team (members and admins)',
      tags,
      params: z.object({ teamId: z.string().min(1) }),
      body: z.object({ user: name }),
    },
    async ({ req, params, body }) => {
      const me = requirePrincipal(req);
      const team = await auth.getTeam(params.teamId);
      if (!team || (!me.isAdmin && !me.teamIds.includes(team.id))) throw new TandemError('NOT_FOUND', `team ${params.teamId} not found`);
      const user = await auth.findUserByName(body.user);
      if (!user) throw new TandemError('NOT_FOUND', `user ${body.user} not found`);
      await auth.addMember(team.id, user.id);
      return undefined;
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/tokens',
      summary: 'Create an API token for the caller; worker tokens can only use the worker API',
      tags,
      status: 201,
      body: z.object({ name: z.string().min(1).max(100), kind: z.enum(['user', 'worker']).default('user') }),
    },
    async ({ req, body }) => auth.createToken(requirePrincipal(req).id, body.name, body.kind),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/tokens/:tokenId',
      summary: 'Revoke one of the caller’s tokens',
      tags,
      params: z.object({ tokenId: z.string().min(1) }),
    },
    async ({ req, params }) => {
      await auth.revokeToken(requirePrincipal(req).id, params.tokenId);
      return undefined;
    },
  );

  return { name: 'auth', api };
}
