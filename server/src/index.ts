export { loadConfig, ConfigError, type Config } from './config.js';
export { startServer, type TandemServer, type StartOptions } from './server.js';
export { TandemError, type ErrorCode } from './errors.js';
export type { AppContext, Feature, FeatureFactory } from './context.js';
