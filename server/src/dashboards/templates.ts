import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Router } from 'express';
import { z } from 'zod';
import { TandemError } from '../errors.js';
import type { OpenApiRegistry } from '../http/openapi.js';
import { route } from '../http/route.js';
import { SERVER_ROOT } from '../paths.js';

export const TEMPLATES_DIR = path.join(path.dirname(SERVER_ROOT), 'templates');
const NAME = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -');

interface TemplateNotebook {
  cells: { cell_type: string; source: string | string[] }[];
  metadata?: { tandem?: { description?: string } };
}

/** Title from the first markdown heading, description from the notebook's tandem metadata. */
function summary(name: string, nb: TemplateNotebook) {
  const first = nb.cells.find((c) => c.cell_type === 'markdown');
  const text = first ? (Array.isArray(first.source) ? first.source.join('') : first.source) : '';
  return { name, title: /^#\s+(.+)$/m.exec(text)?.[1]?.trim() ?? name, description: nb.metadata?.tandem?.description ?? '' };
}

async function read(dir: string, name: string): Promise<TemplateNotebook> {
  try {
    return JSON.parse(await readFile(path.join(dir, `${name}.ipynb`), 'utf8')) as TemplateNotebook;
  } catch (error) {
    throw new TandemError('NOT_FOUND', `template ${name} not found`, { cause: error });
  }
}

/** GET /templates and /templates/:name: the notebooks of `templates/` for "New from template". */
export function templateRoutes(api: Router, openapi: OpenApiRegistry, dir = TEMPLATES_DIR): void {
  const tags = ['templates'];
  route(
    api,
    openapi,
    { method: 'get', path: '/templates', auth: 'user', summary: 'Notebook templates: name, title, description', tags },
    async () => {
      const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.ipynb')).sort();
      const names = files.map((f) => f.slice(0, -'.ipynb'.length)).filter((n) => NAME.safeParse(n).success);
      return { templates: await Promise.all(names.map(async (n) => summary(n, await read(dir, n)))) };
    },
  );
  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/templates/:name',
      auth: 'user',
      summary: 'One template notebook (nbformat 4)',
      tags,
      params: z.object({ name: NAME }),
    },
    async ({ params }) => read(dir, params.name),
  );
}
