import { authFeature } from './auth/auth.routes.js';
import { sessionsFeature } from './auth/sessions.routes.js';
import { collabFeature } from './collab/collab.routes.js';
import type { FeatureFactory } from './context.js';
import { dashboardsFeature } from './dashboards/dashboards.routes.js';
import { jobsFeature } from './jobs/jobs.routes.js';
import { modelsFeature } from './models/models.routes.js';
import { trackingFeature } from './tracking/tracking.routes.js';

/** Every feature folder the server mounts, in order. */
export const FEATURES: FeatureFactory[] = [
  authFeature,
  sessionsFeature,
  modelsFeature,
  trackingFeature,
  jobsFeature,
  collabFeature,
  dashboardsFeature,
];
