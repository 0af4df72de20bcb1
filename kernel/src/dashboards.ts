/**
 * Publishing from a cell: `await dashboards.publish({ slug, title, outputs: [md('…'), table, plot(…)] })`
 * sends the given values (rendered as they would be in the notebook) as a dashboard version.
 */
import type { CreateDashboardRequest, Published as PublishAnswer, PublishRequest } from '@tandem/server/api';
import { request, TandemApiError } from './api.js';
import { snapshotOf } from './display/mime-bundle.js';

export interface PublishOptions {
  /** Lowercase letters, digits and -; the page is served at /tandem/d/<slug>. */
  slug: string;
  title: string;
  description?: string;
  /** What the dashboard shows, in order: strings are markdown, anything else shows like a cell's value. */
  outputs: unknown[];
}

export interface Published {
  slug: string;
  version: number;
  /** The page, on the Tandem server. */
  url: string;
}

/** Each output becomes a cell of a small notebook, the shape the publishing API reads. */
function asNotebook(outputs: unknown[]) {
  return {
    cells: outputs.map((value) =>
      typeof value === 'string'
        ? { cell_type: 'markdown', source: value }
        : { cell_type: 'code', source: '', outputs: [{ output_type: 'display_data', metadata: {}, data: snapshotOf(value) }] },
    ),
  };
}

/** Adds a version to the dashboard `slug`, creating it (owned by the kernel's user) the first time. */
async function publish({ slug, title, description, outputs }: PublishOptions): Promise<Published> {
  const body: PublishRequest = { title, description, notebook: asNotebook(outputs) };
  let answer: PublishAnswer;
  try {
    answer = await request(`dashboards/${encodeURIComponent(slug)}/versions`, { method: 'POST', json: body });
  } catch (error) {
    if (!(error instanceof TandemApiError && error.code === 'NOT_FOUND')) throw error;
    const create: CreateDashboardRequest = { ...body, slug };
    answer = await request('dashboards', { method: 'POST', json: create });
  }
  const base = (process.env.TANDEM_URL ?? '').replace(/\/$/, '');
  return { slug: answer.dashboard.slug, version: answer.version, url: `${base}${answer.dashboard.url}` };
}

export const dashboards = { publish };
