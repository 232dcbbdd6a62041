import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { servePlayground } from '../../scripts/playground.js';

let server: Server;
let url: string;
beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'seqgrad-playground-serve-'));
  mkdirSync(join(root, 'site'));
  writeFileSync(join(root, 'site', 'index.html'), '<p>page</p>');
  writeFileSync(join(root, 'site', 'worker.js'), 'postMessage(1)');
  writeFileSync(join(root, 'secret.txt'), 'outside');
  ({ server, url } = await servePlayground(join(root, 'site'), 0));
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

describe('the playground\'s static server', () => {
  it('serves on 127.0.0.1 with the cross-origin isolation headers and the right types', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('<p>page</p>');
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await fetch(`${url}worker.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('answers 404 for a missing file, 403 outside its folder, 405 for other methods', async () => {
    expect((await fetch(`${url}nothing.js`)).status).toBe(404);
    expect((await fetch(`${url}..%2fsecret.txt`)).status).toBe(403);
    expect((await fetch(url, { method: 'POST', body: 'x' })).status).toBe(405);
  });
});
