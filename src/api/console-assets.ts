/**
 * @module api/console-assets
 * Serves the web console: plain HTML, one CSS file and one ES module from `console/` at the package
 * root (no build step). Only the files listed here are served, read once at start-up, each with its
 * exact content type, so nothing else on disk can be reached through the console's paths.
 */
import { readFileSync } from 'node:fs';
import type { Env, Hono } from 'hono';

/** `console/` beside `src/` and `dist/` (this file is `src/api/…` or `dist/api/…`). */
const CONSOLE_DIRECTORY = new URL('../../console/', import.meta.url);

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/console/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export function serveConsole<E extends Env>(app: Hono<E>): void {
  for (const [path, asset] of Object.entries(ASSETS)) {
    const content = readFileSync(new URL(asset.file, CONSOLE_DIRECTORY), 'utf8');
    app.get(path, (context) =>
      context.body(content, 200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache' }),
    );
  }
}
