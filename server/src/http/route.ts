import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { TandemError } from '../errors.js';
import type { OpenApiRegistry, RouteDoc } from './openapi.js';
import { sendJson } from './raw-json.js';
import { parseInput } from './validate.js';

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/**
 * Who may call a route: a person's token (`user`; also the token a job or a kernel acts with as
 * that person), an admin's (`admin`; never a job's or a kernel's), a worker agent's token (`worker`), or anyone
 * (`public`, the caller is then optional). Worker tokens are refused everywhere except `worker`
 * routes, and people's tokens there.
 */
export type RouteAuth = RouteDoc['auth'];

type CallerOf<A extends RouteAuth> = A extends 'public' ? Principal | undefined : Principal;

export interface RouteSpec<A extends RouteAuth, P, Q, B> extends Omit<RouteDoc, 'params' | 'query' | 'body' | 'auth'> {
  auth: A;
  params?: P;
  query?: Q;
  body?: B;
  /** HTTP status of a successful JSON answer (default 200). */
  status?: number;
}

export interface RouteInput<A extends RouteAuth, P, Q, B> {
  caller: CallerOf<A>;
  req: Request;
  res: Response;
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
}

/**
 * Declares a route once: who may call it, zod validation of params, query and body at the edge,
 * and its OpenAPI entry. The handler's return value becomes the JSON answer (a RawJson as it is),
 * nothing (`void`) a 204, unless it wrote the response itself, as streaming routes do.
 */
export function route<
  A extends RouteAuth,
  P extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  B extends z.ZodType | undefined,
>(
  router: Router,
  openapi: OpenApiRegistry,
  spec: RouteSpec<A, P, Q, B>,
  handler: (input: RouteInput<A, P, Q, B>) => Promise<unknown> | unknown,
): void {
  openapi.add(spec as RouteDoc);
  router[spec.method](spec.path, async (req: Request, res: Response) => {
    const input = {
      caller: callerFor(spec.auth, req.principal) as CallerOf<A>,
      req,
      res,
      params: (spec.params ? parseInput(spec.params, req.params, 'params') : undefined) as Out<P>,
      query: (spec.query ? parseInput(spec.query, req.query, 'query') : undefined) as Out<Q>,
      body: (spec.body ? parseInput(spec.body, req.body, 'body') : undefined) as Out<B>,
    };
    const result = await handler(input);
    if (!res.headersSent) {
      if (result === undefined) res.status(204).end();
      else sendJson(res, spec.status ?? 200, result);
    }
  });
}

/** The caller a route of this kind accepts, or the error that refuses everyone else. */
export function callerFor(auth: RouteAuth, principal: Principal | undefined): Principal | undefined {
  if (principal?.tokenKind === 'worker' && auth !== 'worker') {
    throw new TandemError('FORBIDDEN', 'worker tokens may only use the worker API');
  }
  if (auth === 'public') return principal;
  if (!principal) throw new TandemError('UNAUTHENTICATED', 'an API token is required (Authorization: Bearer <token>)');
  if (auth === 'worker' && principal.tokenKind !== 'worker') {
    throw new TandemError('FORBIDDEN', 'the worker API needs a worker token (POST /tandem/api/tokens {"kind":"worker"})');
  }
  if (auth === 'admin' && (!principal.isAdmin || principal.tokenKind === 'job' || principal.tokenKind === 'kernel')) {
    throw new TandemError(
      'FORBIDDEN',
      principal.isAdmin ? `a ${principal.tokenKind}’s token cannot use admin routes` : 'only admins may do this',
    );
  }
  return principal;
}
