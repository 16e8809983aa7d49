/**
 * @module api/users.test
 * Role hierarchy and token format of control-plane users.
 */
import { describe, expect, it } from 'vitest';
import { effectiveRoles, hashUserToken, holdsRole, newUserToken } from './users.js';

describe('roles', () => {
  it('lets a higher built-in role imply the lower ones and keeps policy roles as given', () => {
    expect(effectiveRoles(['admin'])).toEqual(['viewer', 'approver', 'admin']);
    expect(effectiveRoles(['approver', 'finance-approvers'])).toEqual([
      'viewer',
      'approver',
      'finance-approvers',
    ]);
    expect(effectiveRoles(['finance-approvers'])).toEqual(['finance-approvers']);
  });

  it('checks the hierarchy', () => {
    expect(holdsRole(['viewer'], 'approver')).toBe(false);
    expect(holdsRole(['approver'], 'viewer')).toBe(true);
    expect(holdsRole(['admin'], 'approver')).toBe(true);
    expect(holdsRole(['finance-approvers'], 'viewer')).toBe(false);
  });
});

describe('tokens', () => {
  it('are random, prefixed, and hashed without keeping the token', () => {
    const first = newUserToken();
    const second = newUserToken();
    expect(first).toMatch(/^reins_u_[A-Za-z0-9_-]{43}$/);
    expect(first).not.toBe(second);
    expect(hashUserToken(first)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hashUserToken(first)).toBe(hashUserToken(first));
    expect(hashUserToken(first)).not.toBe(hashUserToken(second));
  });
});
