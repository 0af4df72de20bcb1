#!/usr/bin/env node
// Started by Jupyter through jupyter-config/data/kernels/tandem/kernel.json.
const connectionFile = process.argv[2];
if (!connectionFile) {
  console.error('usage: tandem-kernel <connection_file>');
  process.exit(2);
}
require('../dist/src/kernel/main.js')
  .startKernel(connectionFile)
  .catch((err) => {
    console.error('tandem kernel failed to start:', err);
    process.exit(1);
  });
