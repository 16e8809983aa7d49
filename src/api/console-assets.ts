/**
 * @module api/console-assets
 * Serves the web console: plain HTML, one CSS file and its ES modules (the app, the dashboard, monitor
 * and posture pages and the session page's provenance graph) from `console/` at the package root (no build step). Only the
 * files listed here are served, read once at start-up, each with its exact content type, so nothing
 * else on disk can be reached through the console's paths.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Env, Hono } from 'hono';

/** `console/` at the package root, found upwards from this file (`src/api/`, `dist/api/`, `dist-bench/src/api/`). */
function consoleDirectory(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < 5; level++) {
    const candidate = join(directory, 'console');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    directory = dirname(directory);
  }
  throw new Error('the console files (console/index.html) are missing from the package');
}

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/console/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/console/monitor.js': { file: 'monitor.js', type: 'text/javascript; charset=utf-8' },
  '/console/posture.js': { file: 'posture.js', type: 'text/javascript; charset=utf-8' },
  '/console/provenance-graph.js': { file: 'provenance-graph.js', type: 'text/javascript; charset=utf-8' },
  '/console/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export function serveConsole<E extends Env>(app: Hono<E>): void {
  const directory = consoleDirectory();
  for (const [path, asset] of Object.entries(ASSETS)) {
    const content = readFileSync(join(directory, asset.file), 'utf8');
    app.get(path, (context) =>
      context.body(content, 200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache' }),
    );
  }
}
