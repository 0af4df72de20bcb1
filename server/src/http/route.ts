import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import type { OpenApiRegistry, RouteDoc } from './openapi.js';
import { parseInput } from './validate.js';

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteSpec<P, Q, B> extends Omit<RouteDoc, 'params' | 'query' | 'body'> {
  params?: P;
  query?: Q;
  body?: B;
  /** HTTP status of a successful JSON answer (default 200). */
  status?: number;
}

export interface RouteInput<P, Q, B> {
  req: Request;
  res: Response;
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
}

/**
 * Declares a route once: zod validates params, query and body at the edge, the OpenAPI document
 * learns about it, and the handler's return value becomes the JSON answer (unless it already
 * wrote the response itself, as streaming routes do).
 */
export function route<P extends z.ZodType | undefined, Q extends z.ZodType | undefined, B extends z.ZodType | undefined>(
  router: Router,
  openapi: OpenApiRegistry,
  spec: RouteSpec<P, Q, B>,
  handler: (input: RouteInput<P, Q, B>) => Promise<unknown>,
): void {
  openapi.add(spec as RouteDoc);
  router[spec.method](spec.path, async (req: Request, res: Response) => {
    const input = {
      req,
      res,
      params: (spec.params ? parseInput(spec.params, req.params, 'params') : undefined) as Out<P>,
      query: (spec.query ? parseInput(spec.query, req.query, 'query') : undefined) as Out<Q>,
      body: (spec.body ? parseInput(spec.body, req.body, 'body') : undefined) as Out<B>,
    };
    const result = await handler(input);
    if (!res.headersSent) {
      if (result === undefined) res.status(204).end();
      else res.status(spec.status ?? 200).json(result);
    }
  });
}
