// @ts-expect-error plain ESM helper shared with the root scripts
import { setupTestServices } from '../../../scripts/lib/test-services.mjs';

export default setupTestServices;

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    s3: { TANDEM_S3_ENDPOINT: string; TANDEM_S3_ACCESS_KEY: string; TANDEM_S3_SECRET_KEY: string };
  }
}
