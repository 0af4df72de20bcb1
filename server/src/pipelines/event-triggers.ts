import type { PipelineEventTrigger, PipelineValue } from '../api/index.js';
import type { TandemEvent } from '../events.js';

/** A server event that may start pipelines, as triggers match it and its runs read it. */
export interface TriggeringEvent {
  /** One run per pipeline and key, even when two servers hear the event. */
  key: string;
  /** What steps read as {{ event.<field> }}. */
  values: Record<string, PipelineValue>;
  /** The run's reason, for people. */
  reason: string;
  /** What the pipeline's definer must be able to see for the event to start their pipeline. */
  resource: { type: 'model' | 'experiment'; id: string };
  /** The job that caused it, if one did: a pipeline's own step must not start that pipeline again. */
  byJob?: string;
  matches(trigger: PipelineEventTrigger): boolean;
}

/** The triggering event a server event is, if it is one. */
export function triggeringEvent(event: TandemEvent): TriggeringEvent | undefined {
  if (event.resourceType === 'model' && (event.type === 'model.version.created' || event.type === 'model.alias.set')) {
    const data = event.data as { fullName: string; name: string; version?: number; alias?: string };
    const values: Record<string, PipelineValue> = { model: data.fullName, version: data.version ?? null };
    if (event.type === 'model.alias.set') values.alias = data.alias ?? null;
    return {
      key: `${event.type}:${event.resourceId}:${data.alias ?? ''}:${data.version ?? ''}`,
      values,
      reason: `${event.type} ${data.fullName}${data.alias ? `@${data.alias}` : ''} v${data.version ?? ''}`,
      resource: { type: 'model', id: event.resourceId },
      matches: (t) =>
        t.on === event.type &&
        (!t.model || t.model === data.fullName || t.model === data.name) &&
        (t.alias === undefined || t.alias === data.alias),
    };
  }
  if (event.resourceType === 'experiment' && event.type === 'experiment.artifact.logged') {
    const data = event.data as { experiment: string; runId: string; path: string; sha256: string; byJob?: string };
    return {
      // The content's hash: logging the same file again starts nothing, a new version of it does.
      key: `artifact.logged:${data.runId}:${data.path}:${data.sha256}`,
      values: { experiment: data.experiment, runId: data.runId, path: data.path },
      reason: `artifact.logged ${data.experiment}: ${data.path} (run ${data.runId})`,
      resource: { type: 'experiment', id: event.resourceId },
      byJob: data.byJob,
      matches: (t) =>
        t.on === 'artifact.logged' &&
        (t.experiment === data.experiment || t.experiment === event.resourceId) &&
        (t.path === undefined || globPattern(t.path).test(data.path)),
    };
  }
  return undefined;
}

/** `*` and `?` within one folder, `**` across folders; everything else literal. */
export function globPattern(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` also matches no folder at all (`**/x.csv` matches `x.csv`).
      source += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
