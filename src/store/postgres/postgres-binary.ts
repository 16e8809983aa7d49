/**
 * @module store/postgres/postgres-binary
 * One-dimensional arrays in PostgreSQL's binary wire format (what `array_recv` reads), passed to `pg`
 * as Buffers (which it sends as binary parameters). A batch's columns travel as one array each: no
 * escaping on this side, no text parsing on the server, exact for any string (empty, quotes,
 * backslashes, commas), and several times cheaper than `pg`'s text array literals for large bodies.
 */

const BYTEA_OID = 17;
const TEXT_OID = 25;
const INT8_OID = 20;
const HEADER = 20; // ndim, has-nulls flag, element type, then one dimension: length, lower bound

function header(buffer: Buffer, elementType: number, length: number): void {
  buffer.writeInt32BE(1, 0);
  buffer.writeInt32BE(0, 4);
  buffer.writeUInt32BE(elementType, 8);
  buffer.writeInt32BE(length, 12);
  buffer.writeInt32BE(1, 16);
}

/** A `text[]` (no nulls). Strings are sent as UTF-8, as `pg` sends text parameters. */
export function textArray(values: readonly string[]): Buffer {
  let size = HEADER;
  for (const value of values) size += 4 + Buffer.byteLength(value, 'utf8');
  const buffer = Buffer.allocUnsafe(size);
  header(buffer, TEXT_OID, values.length);
  let offset = HEADER;
  for (const value of values) {
    const written = buffer.write(value, offset + 4, 'utf8');
    buffer.writeInt32BE(written, offset);
    offset += 4 + written;
  }
  return buffer;
}

/** A `bytea[]` (no nulls): the bytes as they are. */
export function byteaArray(values: readonly Uint8Array[]): Buffer {
  let size = HEADER;
  for (const value of values) size += 4 + value.length;
  const buffer = Buffer.allocUnsafe(size);
  header(buffer, BYTEA_OID, values.length);
  let offset = HEADER;
  for (const value of values) {
    buffer.writeInt32BE(value.length, offset);
    buffer.set(value, offset + 4);
    offset += 4 + value.length;
  }
  return buffer;
}

/** A `bigint[]` of safe integers. */
export function int8Array(values: readonly number[]): Buffer {
  const buffer = Buffer.allocUnsafe(HEADER + 12 * values.length);
  header(buffer, INT8_OID, values.length);
  let offset = HEADER;
  for (const value of values) {
    buffer.writeInt32BE(8, offset);
    buffer.writeBigInt64BE(BigInt(value), offset + 4);
    offset += 12;
  }
  return buffer;
}
