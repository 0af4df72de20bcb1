import type { Request, Response } from 'express';
import type { ExperimentEvent, RunStatus } from '../api/index.js';
import type { AuthStore } from '../auth/auth.store.js';
import type { Principal } from '../auth/principal.js';
import { hashToken } from '../auth/tokens.js';
import type { TandemEvent } from '../events.js';
import { tokenOf } from '../http/authenticate.js';
import { openEventStream, type EventStream } from '../http/event-stream.js';
import type { TrackingService } from './tracking.service.js';

const LOST = 'you no longer have access to this experiment';

/**
 * Relays the experiment's events to a viewer as server-sent events until they disconnect. The
 * stream ends (with an `end` event saying why) when the caller loses access to the experiment or
 * the token it was opened with is revoked: a revoked token must not keep listening.
 */
export async function streamExperimentEvents(
  services: { tracking: TrackingService; auth: AuthStore },
  who: Principal,
  id: string,
  req: Request,
  res: Response,
): Promise<void> {
  // Events may come (and access go) before the stream opens: only once it is open are they sent.
  const opened: { stream?: EventStream } = {};
  let lost = false;
  // Throws NOT_FOUND before anything is written, so others get a plain 404.
  const unwatch = await services.tracking.watchExperiment(
    who,
    id,
    (event) => opened.stream?.send('experiment', publicEvent(id, event)),
    () => {
      lost = true;
      opened.stream?.end(LOST);
    },
  );
  const stream = (opened.stream = openEventStream(req, res));
  if (lost) stream.end(LOST);
  const { end } = stream;
  const token = tokenOf(req);
  const stopAuth = services.auth.onChange((change) => {
    // Cookie sessions are re-checked on their next request; tokens here, as soon as one is revoked.
    if (!token || (change.kind === 'tokens' && !change.hashes.includes(hashToken(token)))) return;
    services.auth
      .authenticate(token)
      .then((still) => {
        if (!still) end('your token was revoked or your account deactivated');
      })
      .catch(() => undefined);
  });
  await stream.ended;
  stopAuth();
  unwatch();
}

function publicEvent(experimentId: string, event: TandemEvent): ExperimentEvent {
  const status = event.data?.status as RunStatus | undefined;
  return {
    type: event.type as ExperimentEvent['type'],
    at: event.at,
    experimentId,
    ...(event.resourceType === 'run' ? { runId: event.resourceId } : {}),
    ...(status ? { status } : {}),
  };
}
