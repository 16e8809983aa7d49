/**
 * @module spec/storable-text
 * Text every store keeps as it was given: no lone surrogate (SQLite keeps bytes that read back as
 * other characters; hashes over it would no longer match) and no NUL (PostgreSQL's text refuses it).
 */

/**
 * In a `u` pattern a surrogate pair is one code point: only lone surrogates match `\p{Cs}`; NUL is the
 * other character a store's text refuses (a RegExp built from a string: lint forbids a control
 * character in a literal).
 */
const UNSTORABLE_SOURCE = '[\\p{Cs}\\u0000]';
const HAS_UNSTORABLE = new RegExp(UNSTORABLE_SOURCE, 'u');
const UNSTORABLE = new RegExp(UNSTORABLE_SOURCE, 'gu');

/** `text` with each lone surrogate and NUL replaced by U+FFFD (cf. String.prototype.toWellFormed). */
export function storableText(text: string): string {
  return HAS_UNSTORABLE.test(text) ? text.replace(UNSTORABLE, '\ufffd') : text;
}

/** Whether `text` is stored as it is (see `storableText`). */
export function isStorableText(text: string): boolean {
  return !HAS_UNSTORABLE.test(text);
}
