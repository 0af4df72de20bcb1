import { z } from 'zod';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteDoc {
  method: HttpMethod;
  /**
   * Express-style path below /tandem/api, e.g. `/models/:name`; or from the site root for routes
   * of a feature's `pages` (`/tandem/serve/:model/:alias/predict`).
   */
  path: string;
  summary: string;
  /** Who may call it (see `route()`); public routes need no token. */
  auth: 'user' | 'worker' | 'admin' | 'public';
  tags?: string[];
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
  /** Set for routes that stream a raw body instead of JSON. */
  rawBody?: string;
}

/** Collects route docs as features register routes, and renders one OpenAPI 3.1 document. */
export class OpenApiRegistry {
  private readonly routes: RouteDoc[] = [];

  add(doc: RouteDoc): void {
    this.routes.push(doc);
  }

  document(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const path = `${r.path.startsWith('/tandem/') ? '' : '/tandem/api'}${r.path.replace(/:(\w+)/g, '{$1}')}`;
      const parameters = [...objectParams(r.params, 'path'), ...objectParams(r.query, 'query')];
      (paths[path] ??= {})[r.method] = {
        summary: r.summary,
        tags: r.tags,
        parameters: parameters.length ? parameters : undefined,
        requestBody: r.body
          ? { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } }
          : r.rawBody
            ? { required: true, content: { [r.rawBody]: { schema: { type: 'string', format: 'binary' } } } }
            : undefined,
        responses: {
          '200': {
            description: 'OK',
            content: r.response ? { 'application/json': { schema: jsonSchema(r.response) } } : undefined,
          },
          default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
        security: r.auth === 'public' ? [] : [{ bearer: [] }],
        'x-tandem-auth': r.auth,
      };
    }
    return {
      openapi: '3.1.0',
      info: { title: 'Tandem API', version: '0.1.0' },
      paths,
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        schemas: {
          Error: {
            type: 'object',
            properties: {
              error: {
                type: 'object',
                properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
                required: ['code', 'message'],
              },
            },
          },
        },
      },
    };
  }
}

function jsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

function objectParams(schema: z.ZodType | undefined, location: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const json = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}
