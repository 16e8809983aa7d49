/**
 * @module examples/demo/sentiment-lexicon
 * A tiny lexicon-based sentiment scorer. It stands in for the model a real review pipeline would call:
 * the same kind of answer (a score from -1, very negative, to 1, very positive), but deterministic and
 * offline, so the demo tells the same story on every run.
 */

/** Word weights; only the words the demo's reviews use, plus a few obvious neighbours. */
const LEXICON: ReadonlyMap<string, number> = new Map([
  ['lovely', 2],
  ['happy', 2],
  ['great', 2],
  ['good', 1.5],
  ['sturdy', 1.5],
  ['warm', 1],
  ['quickly', 1],
  ['fine', 1],
  ['works', 0.5],
  ['cheap', -1],
  ['confusing', -1],
  ['refused', -1.5],
  ['broke', -2],
  ['broken', -2],
  ['avoid', -2],
  ['fake', -2],
  ['dangerous', -2.5],
  ['useless', -2.5],
  ['awful', -3],
  ['terrible', -3],
  ['worst', -3],
  ['scam', -3],
]);

/** Squashes the sum of weights into (-1, 1) like VADER does; 15 is VADER's normalisation constant. */
const NORMALISATION = 15;

/** The sentiment of `text`, rounded to two decimals so printed and decided values are the same. */
export function sentimentScore(text: string): number {
  let sum = 0;
  for (const word of text.toLowerCase().split(/[^a-z]+/)) sum += LEXICON.get(word) ?? 0;
  const score = sum / Math.sqrt(sum * sum + NORMALISATION);
  return Math.round(score * 100) / 100;
}
