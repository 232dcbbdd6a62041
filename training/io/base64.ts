/**
 * Base64 of raw bytes and back (the weights in model files), the same in Node and in a browser:
 * Node's Buffer where there is one (fast, and lenient as Node is about stray characters), else
 * btoa/atob over a binary string (the playground's worker). Looked up per call, so a test can
 * take Buffer away.
 */

interface BufferLike {
  from(data: ArrayBuffer, byteOffset: number, length: number): { toString(encoding: 'base64'): string };
  from(text: string, encoding: 'base64'): Uint8Array;
}

function nodeBuffer(): BufferLike | undefined {
  return (globalThis as { Buffer?: BufferLike }).Buffer;
}

/** Characters per String.fromCharCode call (stays far below the engines' argument limits). */
const CHUNK = 0x8000;

export function bytesToBase64(bytes: Uint8Array): string {
  const buffer = nodeBuffer();
  if (buffer) return buffer.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, Math.min(i + CHUNK, bytes.length)));
  }
  return btoa(binary);
}

export function base64ToBytes(text: string): Uint8Array {
  const buffer = nodeBuffer();
  if (buffer) return buffer.from(text, 'base64');
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new Error(`base64ToBytes: expected base64 text, got ${JSON.stringify(text.slice(0, 24))}${text.length > 24 ? '…' : ''}`);
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
