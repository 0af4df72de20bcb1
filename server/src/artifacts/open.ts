import path from 'node:path';
import type { Config } from '../config.js';
import { createFolderStore } from './folder-store.js';
import { createMinioStore } from './minio-store.js';
import type { ArtifactStore } from './store.js';

/** MinIO when TANDEM_S3_* is configured, else a folder under TANDEM_HOME. */
export function openArtifactStore(config: Pick<Config, 's3' | 'home'>): Promise<ArtifactStore> {
  return config.s3 ? createMinioStore(config.s3) : createFolderStore(path.join(config.home, 'artifacts'));
}
