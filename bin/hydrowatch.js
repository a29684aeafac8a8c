#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm ci` (the `prepare` script) or `npm run build`.
import('../dist/src/cli.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli.js')) {
    console.error('hydrowatch: not built yet; run `npm run build` (npm ci does it for you)');
  } else {
    console.error(`hydrowatch: ${error?.message ?? error}`);
  }
  process.exit(1);
});
