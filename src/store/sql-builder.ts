/**
 * @module store/sql-builder
 * The dialect-free part of the stores' reads: a filter is a list of conditions, turned into a WHERE
 * clause whose values are always bound parameters, then ordered and limited. A backend supplies only
 * what is its own: the placeholder syntax (`?` or `$n`) and its (schema-qualified) table names.
 */

/** The placeholder of the parameter at `position` (1-based): `?` in SQLite, `$1`… in PostgreSQL. */
export type Placeholder = (position: number) => string;

export type SqlValue = string | number;

/** One `column operator value` test; a condition whose value is undefined was not asked for. */
export interface Condition {
  readonly column: string;
  readonly operator: '=' | '<' | '>' | '>=';
  readonly value: SqlValue | undefined;
  /** A column only the records table has (not a lookup table joined to it): tested with `recordAlias`. */
  readonly onRecords?: boolean;
}

/** SQL text and the values of its placeholders, in order. */
export interface Statement {
  readonly text: string;
  readonly values: SqlValue[];
}

export interface SelectSpec {
  readonly columns: string;
  /** A table, or a join (`a l join b e on …`). */
  readonly from: string;
  readonly conditions: readonly Condition[];
  /** Written before each condition's column (`l.` to filter on a joined table). */
  readonly alias?: string;
  /** Written before the columns only the records table has (default: `alias`). */
  readonly recordAlias?: string;
  readonly orderBy: string;
  /** A whole number (see store/limits): it is written into the text. */
  readonly limit?: number;
}

/** The conditions that were asked for, as `where a = ? and b < ?` (empty text when none). */
export function whereClause(
  conditions: readonly Condition[],
  placeholder: Placeholder,
  alias = '',
  recordAlias = alias,
): Statement {
  const tests: string[] = [];
  const values: SqlValue[] = [];
  for (const { column, operator, value, onRecords } of conditions) {
    if (value === undefined) continue;
    values.push(value);
    tests.push(`${onRecords ? recordAlias : alias}${column} ${operator} ${placeholder(values.length)}`);
  }
  return { text: tests.length > 0 ? `where ${tests.join(' and ')}` : '', values };
}

export function selectStatement(spec: SelectSpec, placeholder: Placeholder): Statement {
  if (spec.limit !== undefined && !Number.isSafeInteger(spec.limit)) {
    // never reached through effectiveLimit; refused rather than written into SQL
    throw new RangeError(`a limit must be a whole number, got \`${spec.limit}\``);
  }
  const where = whereClause(spec.conditions, placeholder, spec.alias, spec.recordAlias);
  const parts = [`select ${spec.columns} from ${spec.from}`, where.text, `order by ${spec.orderBy}`];
  if (spec.limit !== undefined) parts.push(`limit ${spec.limit}`);
  return { text: parts.filter((part) => part !== '').join(' '), values: where.values };
}
