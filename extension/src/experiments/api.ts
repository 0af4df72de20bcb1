import type {
  ExperimentEvent,
  ExperimentPage,
  ExperimentWithRole,
  MetricHistoryPage,
  MetricPoint,
  ModelVersion,
  RegisterRunRequest,
  Run,
  RunArtifact,
  RunArtifactPage,
  RunPage,
} from '@tandem/server/api';
import type { TandemClient } from '../requests';

export type { ExperimentEvent, ExperimentPage, ExperimentWithRole, MetricPoint, ModelVersion, Run, RunArtifact } from '@tandem/server/api';

const query = (values: Record<string, string | string[] | number | undefined>) => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    for (const v of [value ?? []].flat()) if (v !== '') params.append(key, String(v));
  }
  return params.toString();
};

/** The tracking endpoints the Experiments panel and the compare view use, all through `TandemClient.request()`. */
export class ExperimentsApi {
  constructor(readonly client: TandemClient) {}

  searchExperiments(q: { filter?: string; limit?: number; pageToken?: string }): Promise<ExperimentPage> {
    return this.client.request(`experiments?${query(q)}`);
  }

  experiment(id: string): Promise<ExperimentWithRole> {
    return this.client.request(`experiments/${encodeURIComponent(id)}`);
  }

  searchRuns(q: { experimentId: string; filter?: string; orderBy?: string; limit?: number; pageToken?: string }): Promise<RunPage> {
    return this.client.request(`runs?${query(q)}`);
  }

  run(id: string): Promise<Run> {
    return this.client.request(`runs/${encodeURIComponent(id)}`);
  }

  /** A metric's whole series in step order, page after page. */
  async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    const path = `runs/${encodeURIComponent(runId)}/metrics/${key.split('/').map(encodeURIComponent).join('/')}`;
    const points: MetricPoint[] = [];
    let pageToken: string | undefined;
    do {
      const page: MetricHistoryPage = await this.client.request(`${path}?${query({ limit: 25_000, pageToken })}`);
      points.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return points;
  }

  async artifacts(runId: string): Promise<RunArtifact[]> {
    return (await this.client.request<RunArtifactPage>(`runs/${encodeURIComponent(runId)}/artifacts?limit=1000`)).items;
  }

  register(runId: string, body: RegisterRunRequest): Promise<ModelVersion> {
    return this.client.request(`runs/${encodeURIComponent(runId)}/register`, { method: 'POST', json: body });
  }

  /** The experiment's live events, until the answer is called. */
  events(experimentId: string, onEvent: (event: ExperimentEvent) => void): () => void {
    return this.client.events<ExperimentEvent>(`experiments/${encodeURIComponent(experimentId)}/events`, 'experiment', onEvent);
  }
}
