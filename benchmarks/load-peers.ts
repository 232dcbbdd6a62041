/**
 * Finds and loads the peers of `seqgrad bench --peers`. They live in their own package,
 * `benchmarks/peers/` (never a dependency of seqgrad): TensorFlow.js and brain.js once
 * `npm run bench:peers` installed them there, PyTorch wherever /usr/bin/python3 imports torch.
 * Each peer module (`peers/*.mjs`) exports `createPeer(): Promise<Peer>`; a peer that cannot load
 * is left out with a one-line message saying why and what to do.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Peer } from './harness.js';

export const PEERS_INSTALL_HINT = 'npm run bench:peers   (= npm --prefix benchmarks/peers install --no-audit --no-fund)';

/** The peers package directory: beside this file (source), or ../benchmarks/peers from dist/, or under the cwd. */
export function peersDirectory(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'peers'), join(here, '..', 'benchmarks', 'peers'), resolve('benchmarks', 'peers')];
  return candidates.find((dir) => existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tfjs.mjs'))) ?? null;
}

interface PeerModule {
  createPeer(): Promise<Peer>;
}

/** Which npm packages each in-process peer needs from benchmarks/peers/node_modules. */
const NPM_PEERS: { file: string; label: string; needs: string }[] = [
  { file: 'tfjs.mjs', label: 'TensorFlow.js', needs: '@tensorflow/tfjs' },
  { file: 'brain.mjs', label: 'brain.js', needs: 'brain.js' },
];

export async function loadPeers(): Promise<{ peers: Peer[]; messages: string[] }> {
  const dir = peersDirectory();
  if (!dir) return { peers: [], messages: ['peers: benchmarks/peers/ not found (run from a seqgrad checkout)'] };
  const peers: Peer[] = [];
  const messages: string[] = [];
  const missing: string[] = [];
  for (const { file, label, needs } of NPM_PEERS) {
    if (!existsSync(join(dir, 'node_modules', needs, 'package.json'))) {
      missing.push(label);
      continue;
    }
    await load(dir, file, label, peers, messages);
  }
  if (missing.length) messages.push(`peers: ${missing.join(' and ')} not installed — run: ${PEERS_INSTALL_HINT}`);
  await load(dir, 'torch.mjs', 'PyTorch', peers, messages);
  return { peers, messages };
}

async function load(dir: string, file: string, label: string, peers: Peer[], messages: string[]): Promise<void> {
  try {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as PeerModule;
    peers.push(await module.createPeer());
  } catch (err) {
    messages.push(`peers: ${label} skipped (${err instanceof Error ? err.message : String(err)})`);
  }
}
