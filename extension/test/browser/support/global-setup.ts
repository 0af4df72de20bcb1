// The browser suite uses the same real PostgreSQL and MinIO as the server's tests.
export { default } from '../../../../server/test/support/global-setup.js';
