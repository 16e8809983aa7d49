/**
 * @module test/conformance/user-store.conformance
 * What every control-plane users store must do (SQLite and PostgreSQL run the same cases): create
 * once, look up by id and by token hash, replace a token (the old one stops working), delete.
 */
import { describe, expect, it } from 'vitest';
import { createUser, hashUserToken, newUserToken, type UserStore } from '../../src/api/users.js';

export function userStoreConformance(backend: {
  name: string;
  create(): Promise<{ store: UserStore; dispose(): Promise<void> }>;
}): void {
  describe(`users store conformance: ${backend.name}`, () => {
    async function withStore(work: (store: UserStore) => Promise<void>): Promise<void> {
      const { store, dispose } = await backend.create();
      try {
        await work(store);
      } finally {
        await store.close();
        await dispose();
      }
    }

    it('creates a user once and finds it by id and by token hash only', () =>
      withStore(async (store) => {
        const { user, token } = await createUser(store, {
          id: 'ana@example.com',
          roles: ['approver'],
          by: 'test',
        });
        expect(token).toMatch(/^reins_u_/);
        expect(user.tokenHash).not.toContain(token);
        expect(await store.get('ana@example.com')).toEqual(user);
        expect(await store.byTokenHash(hashUserToken(token))).toEqual(user);
        expect(await store.byTokenHash(hashUserToken(`${token}x`))).toBeUndefined();
        await expect(
          createUser(store, { id: 'ana@example.com', roles: ['viewer'], by: 'test' }),
        ).rejects.toMatchObject({
          code: 'conflict',
        });
        expect((await store.list()).map((each) => each.id)).toEqual(['ana@example.com']);
      }));

    it('rejects invalid users before storing them', () =>
      withStore(async (store) => {
        await expect(createUser(store, { id: 'bob', roles: [], by: 'test' })).rejects.toMatchObject({
          code: 'invalid_input',
        });
        await expect(
          createUser(store, { id: 'bob', roles: ['Not A Role'], by: 'test' }),
        ).rejects.toMatchObject({
          code: 'invalid_input',
        });
        expect(await store.list()).toEqual([]);
      }));

    it('replaces a token: the old one no longer finds the user', () =>
      withStore(async (store) => {
        const { token } = await createUser(store, {
          id: 'cy',
          roles: ['admin', 'finance-approvers'],
          by: 'test',
        });
        const fresh = newUserToken();
        expect(await store.setTokenHash('cy', hashUserToken(fresh))).toBe(true);
        expect(await store.byTokenHash(hashUserToken(token))).toBeUndefined();
        expect((await store.byTokenHash(hashUserToken(fresh)))?.roles).toEqual([
          'admin',
          'finance-approvers',
        ]);
        expect((await store.get('cy'))?.tokenHash).toBe(hashUserToken(fresh));
        expect(await store.setTokenHash('nobody', hashUserToken(fresh))).toBe(false);
      }));

    it('deletes a user', () =>
      withStore(async (store) => {
        const { token } = await createUser(store, { id: 'dee', roles: ['viewer'], by: 'test' });
        expect(await store.delete('dee')).toBe(true);
        expect(await store.delete('dee')).toBe(false);
        expect(await store.byTokenHash(hashUserToken(token))).toBeUndefined();
      }));
  });
}
