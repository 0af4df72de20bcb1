// The cell SDK: `import { sql, table, plot, models, spark, gpu, dashboards } from '@tandem/kernel'`.
export { TandemApiError, request as tandemRequest } from './api.js';
export { models, type LoadedModel, type ModelVersion as RegisteredModelVersion, type RegisterOptions } from './models.js';
