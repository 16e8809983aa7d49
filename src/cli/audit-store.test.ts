// Unit tests of where an embedded deployment without reins.yaml keeps its default keys: where its
// store is, whatever directory a command runs in (issue 14).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keysHomeOf } from './audit-store.js';

describe('keysHomeOf', () => {
  it("is reins.yaml's directory when there is one", () => {
    expect(keysHomeOf({ db: '/srv/state/audit.db', keysBase: '/etc/reins' })).toBe('/etc/reins');
  });

  it("is the directory holding the store's .reins/, or the store file's own directory", () => {
    expect(keysHomeOf({ db: '/srv/app/.reins/audit.db' })).toBe('/srv/app');
    expect(keysHomeOf({ db: '/srv/state/audit.db' })).toBe('/srv/state');
    expect(keysHomeOf({})).toBe(process.cwd());
    expect(keysHomeOf({ db: join('data', 'audit.db') })).toBe(join(process.cwd(), 'data'));
  });
});
