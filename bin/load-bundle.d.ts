// Types of bin/load-bundle.js (plain JavaScript, run before anything is compiled), for scripts/ and tests.
export function buildIdOf(source: string): string | undefined;
export function codeCachePath(bundlePath: string, buildId: string): string;
export interface LoadedBundle {
  readonly exports: Record<string, unknown>;
  readonly cache: 'accepted' | 'rejected' | 'absent' | 'not used';
  createCodeCache(): { path: string; data: Buffer };
}
export function loadBundle(bundlePath: string, options?: { produceCodeCache?: boolean }): LoadedBundle;
