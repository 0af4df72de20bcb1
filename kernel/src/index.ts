// The cell SDK: `import { sql, table, plot, models, deployments, experiments, spark, gpu, pipelines, notifications, dashboards, monitor, check } from '@tandem/kernel'`.
export { TandemApiError } from '@tandem/server/api';
export { request as tandemRequest } from './api.js';
export { models, type LoadedModel, type ModelVersion as RegisteredModelVersion, type RegisterOptions } from './models.js';
export { deployments, type Deployment, type DeploymentKey, type CreatedDeploymentKey, type ServeOptions } from './deployments.js';
export { sql, register, duckdb, toArrow, SqlError, type Queryable, type SqlParams } from './sql/sql.js';
export { file } from './sql/remote-files.js';
export { table, tablePayload, TABLE_MIME, type TableOptions, type TablePayload, type ColumnSummary } from './display/table.js';
export { plot, md, html, display } from './display/figures.js';
export {
  experiments,
  ExperimentRun,
  RunLogError,
  type RunInfo,
  type StartOptions as RunStartOptions,
  type SearchOptions as RunSearchOptions,
} from './experiments.js';
export { spark, type SparkSubmitOptions, type SparkTrainOptions } from './spark.js';
export { gpu, type GpuSubmitOptions, type GpuTrainOptions } from './gpu.js';
export { jobs, Job, JobError, type JobInfo, type JobStatus } from './jobs.js';
export type { DataSource } from './job-data.js';
export { pipelines, type Pipeline, type PipelineDefinition, type PipelineRun, type RunOptions as PipelineRunOptions } from './pipelines.js';
export { notifications, type NotificationSubscription, type NotificationDelivery } from './notifications.js';
export { dashboards, type PublishOptions as DashboardPublishOptions, type Published as PublishedDashboard } from './dashboards.js';
export { check, monitor } from './monitor/monitor.js';
export type { CheckReport, CheckResult, DataChecks } from './monitor/checks.js';
export type { ColumnQuality, QualityOptions, QualityReport } from './monitor/quality.js';
export {
  DRIFT_METHODS,
  type DriftMethod,
  type DriftOptions,
  type DriftReport,
  type DriftSource,
  type ColumnDrift,
} from './monitor/drift.js';
