import type { Router } from 'express';
import { z } from 'zod';
import type { OpenApiRegistry } from '../http/openapi.js';
import { route } from '../http/route.js';
import type { Role } from './permissions.js';
import type { Principal } from './principal.js';
import type { Grantee, NamedGrant } from './sharing.js';

/** The body of `PUT <resource>/grants`: a user or team by name, and a role (null removes access). */
const shareBody = z.object({
  type: z.enum(['user', 'team']),
  name: z.string().min(1).max(200),
  role: z.enum(['owner', 'editor', 'viewer']).nullable(),
});

export interface GrantRoutesSpec<P extends z.ZodType> {
  /** Express path of the resource, e.g. `/models/:name`; the routes are `<path>/grants`. */
  path: string;
  params: P;
  tags: string[];
  /** How OpenAPI summaries name the resource, e.g. `model`. */
  noun: string;
  list: (who: Principal, params: z.output<P>) => Promise<NamedGrant[]>;
  share: (who: Principal, params: z.output<P>, to: Grantee, role: Role | null) => Promise<void>;
}

/** Declares `GET <path>/grants` and `PUT <path>/grants` (which answers the grants after the change). */
export function grantRoutes<P extends z.ZodType>(api: Router, openapi: OpenApiRegistry, spec: GrantRoutesSpec<P>): void {
  const { path, params, tags, noun } = spec;
  route(
    api,
    openapi,
    { method: 'get', path: `${path}/grants`, auth: 'user', summary: `Who has which role on the ${noun}`, tags, params },
    async ({ caller, params }) => ({ grants: await spec.list(caller, params as z.output<P>) }),
  );
  route(
    api,
    openapi,
    {
      method: 'put',
      path: `${path}/grants`,
      auth: 'user',
      summary: `Share the ${noun} with a user or team (owners); role null removes access`,
      tags,
      params,
      body: shareBody,
    },
    async ({ caller, params: raw, body }) => {
      // route() cannot narrow its conditional output type for a generic schema.
      const params = raw as z.output<P>;
      const who = caller;
      await spec.share(who, params, { type: body.type, name: body.name }, body.role);
      return { grants: await spec.list(who, params) };
    },
  );
}
