import { adminFeature } from './admin/admin.routes.js';
import { authFeature } from './auth/auth.routes.js';
import { oidcFeature } from './auth/oidc.routes.js';
import { sessionTokensFeature } from './auth/session-tokens.routes.js';
import { sessionsFeature } from './auth/sessions.routes.js';
import { collabFeature } from './collab/collab.routes.js';
import type { FeatureFactory } from './context.js';
import { dashboardsFeature } from './dashboards/dashboards.routes.js';
import { jobsFeature } from './jobs/jobs.routes.js';
import { modelsFeature } from './models/models.routes.js';
import { notificationsFeature } from './notifications/notifications.routes.js';
import { pipelinesFeature } from './pipelines/pipelines.routes.js';
import { servingFeature } from './serving/serving.routes.js';
import { trackingFeature } from './tracking/tracking.routes.js';

/** Every feature folder the server mounts, in order. */
export const FEATURES: FeatureFactory[] = [
  authFeature,
  sessionsFeature,
  sessionTokensFeature,
  oidcFeature,
  modelsFeature,
  servingFeature,
  trackingFeature,
  jobsFeature,
  collabFeature,
  dashboardsFeature,
  pipelinesFeature,
  notificationsFeature,
  adminFeature,
];
