/**
 * @module store/schema-version
 * The version rule of both backends' migrations: a store written by a newer Reins (a higher schema
 * version than this code knows) is refused rather than guessed at.
 */
import { ReinsError } from '../spec/errors.js';

export function assertSchemaNotNewer(current: number, supported: number): void {
  if (current > supported) {
    throw new ReinsError(
      'store_schema_mismatch',
      `store schema version ${current} is newer than this Reins understands (${supported}): upgrade Reins`,
    );
  }
}
