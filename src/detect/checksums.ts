/**
 * @module detect/checksums
 * The arithmetic checks that separate real identifiers from look-alikes: Luhn (payment cards), ISO
 * 13616 mod-97 (IBAN), the SSA's never-issued SSN ranges, JWT header decoding, IPv6 group structure and
 * Shannon entropy. Each runs in time linear in its (already bounded) input.
 */

/** Luhn check over a string of digits (separators already removed). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index--) {
    let digit = digits.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return false;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Issuer prefixes of the card networks (IIN ranges) with their lengths: a Luhn-valid number without a
 * known prefix is far more often an order number than a card.
 */
export function cardNetwork(digits: string): string | undefined {
  const length = digits.length;
  const two = Number(digits.slice(0, 2));
  const three = Number(digits.slice(0, 3));
  const four = Number(digits.slice(0, 4));
  const six = Number(digits.slice(0, 6));
  if (digits[0] === '4' && (length === 13 || length === 16 || length === 19)) return 'visa';
  if (((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) && length === 16) return 'mastercard';
  if ((two === 34 || two === 37) && length === 15) return 'amex';
  if ((four === 6011 || two === 65 || (three >= 644 && three <= 649)) && length >= 16 && length <= 19)
    return 'discover';
  if (four >= 3528 && four <= 3589 && length >= 16 && length <= 19) return 'jcb';
  if ((two === 36 || two === 38 || two === 39 || (three >= 300 && three <= 305)) && length >= 14)
    return 'diners';
  if (six >= 622126 && six <= 622925 && length >= 16) return 'unionpay';
  if (two === 62 && length >= 16 && length <= 19) return 'unionpay';
  return undefined;
}

/** IBAN lengths per country (ISO 13616 registry, SWIFT release 2024). */
// biome-ignore format: a table reads better packed
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22,
  IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

/** ISO 13616: known country, its length, and (rearranged, letters as numbers) mod 97 == 1. */
export function ibanValid(compact: string): boolean {
  const expected = IBAN_LENGTHS[compact.slice(0, 2)];
  if (expected === undefined || compact.length !== expected) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (let index = 0; index < rearranged.length; index++) {
    const code = rearranged.charCodeAt(index);
    if (code >= 48 && code <= 57) remainder = (remainder * 10 + (code - 48)) % 97;
    else if (code >= 65 && code <= 90) remainder = (remainder * 100 + (code - 55)) % 97;
    else return false;
  }
  return remainder === 1;
}

/**
 * US Social Security numbers that were never issued: area 000, 666 or 900-999, group 00, serial 0000,
 * and the numbers printed on sample cards (078-05-1120, 219-09-9999).
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const areaNumber = Number(area);
  if (areaNumber === 0 || areaNumber === 666 || areaNumber >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  const whole = `${area}-${group}-${serial}`;
  return whole !== '078-05-1120' && whole !== '219-09-9999';
}

/** A JWT's first segment must decode to a JSON object naming its algorithm (`alg`). */
export function jwtHeaderValid(segment: string): boolean {
  if (segment.length % 4 === 1) return false; // not base64 at all
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  const decoded = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  // cheap test first: look-alikes are common in adversarial text, and exceptions are slow
  if (!decoded.includes('"alg"')) return false;
  try {
    const header: unknown = JSON.parse(decoded);
    return (
      typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}

/** Full IPv6 syntax: eight groups of 1-4 hex digits, or fewer with exactly one `::`. */
export function ipv6Valid(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const all = [...head, ...tail];
  if (!all.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false;
  if (halves.length === 1) return all.length === 8;
  // `::` stands for at least one zero group; a bare `::`/`::1` carries no personal data worth a finding
  return all.length <= 7 && all.length >= 2;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}
