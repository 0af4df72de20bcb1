/**
 * Data for jobs: uploaded once per content to `PUT /job-data/:sha256` (raw body), then named in a
 * job's spec by reference; the worker downloads it by hash.
 */

/** How a job spec names uploaded data. */
export interface DataRef {
  sha256: string;
  /** The file name the job sees (letters, digits and . _ -); its extension tells the format. */
  name: string;
}

/** `GET /job-data/:sha256` (404 when the caller has not uploaded it) and `PUT` answer this. */
export interface JobDataInfo {
  sha256: string;
  size: number;
}
