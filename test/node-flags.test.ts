// hydrowatch is started with the same V8 flags however it is started: `npm start`, the Docker image,
// and the bench (which imports NODE_FLAGS), so what the bench measures is what runs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../src/node-flags.js';

const read = (file: string): string => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

describe('Node flags', () => {
  it('npm start runs the service with them', () => {
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    expect(scripts.start).toBe(`node ${NODE_FLAGS.join(' ')} bin/hydrowatch.js start`);
  });

  it('the Docker image runs the service with them', () => {
    const entrypoint = /^ENTRYPOINT (.*)$/m.exec(read('Dockerfile'))?.[1];
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['node', ...NODE_FLAGS, 'bin/hydrowatch.js']);
  });
});
