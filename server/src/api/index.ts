// The API contract (types), and the one client and number formats shared by the kernel, the extension and the worker.
export * from './client.js';
export * from './format.js';
export type * from './admin.js';
export type * from './audit.js';
export type * from './common.js';
export type * from './dashboards.js';
export type * from './job-data.js';
export type * from './jobs.js';
export type * from './models.js';
export type * from './notebooks.js';
export type * from './notifications.js';
export * from './pipelines.js';
export type * from './serving.js';
export type * from './tables.js';
export type * from './tracking.js';
export type * from './users.js';
