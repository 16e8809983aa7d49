// Types of bin/load-bundle.js (plain JavaScript, run before anything is compiled), for scripts/ and tests.
export function codeCachePath(bundlePath: string): string;
export function encodeCodeCache(script: Buffer, data: Buffer): Buffer;
export type CodeCacheOutcome =
  | 'accepted'
  | 'rejected'
  | 'off'
  | 'absent'
  | 'unreadable'
  | 'stale'
  | 'damaged'
  | 'not used';
export interface LoadedBundle {
  readonly exports: Record<string, unknown>;
  readonly cache: CodeCacheOutcome;
  createCodeCache(): { path: string; data: Buffer };
}
export function loadBundle(bundlePath: string, options?: { produceCodeCache?: boolean }): LoadedBundle;
