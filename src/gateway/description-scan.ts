/**
 * @module gateway/description-scan
 * Flags tool descriptions written for the model rather than for a human reading the tool list:
 * instructions to override other instructions, to hide things from the user, to read secrets, to call
 * other tools or send data elsewhere, chat-template markup, invisible characters, and walls of text.
 * Every string of the definition that the agent sees is scanned, not only the description: parameter
 * descriptions, enum values, defaults, examples, property names, titles, annotations, the output
 * schema and `_meta` reach the model just as well (the name is checked for invisible characters only).
 *
 * The text is attacker-controlled, so every pattern runs in linear time: word lists and bounded
 * quantifiers over disjoint character classes only, and "A near B" rules are two forward scans
 * paired up instead of one regex with an open-ended gap. A hit is a reason for a human to look,
 * not a verdict: the rules describe how injected instructions behave, so plain documentation
 * ("Read the contents of a file", "ignore case") stays quiet.
 */

export type FindingCode =
  | 'override_instructions'
  | 'model_directive'
  | 'concealment'
  | 'secret_access'
  | 'cross_tool_instruction'
  | 'exfiltration'
  | 'markup_directive'
  | 'hidden_characters'
  | 'excessive_length';

export interface Finding {
  code: FindingCode;
  /** Normalised text around the hit (invisible characters removed), at most ~160 characters. */
  excerpt: string;
  /** Where the hit is: `name`, `description` or a path such as `inputSchema.properties.path.description`. */
  field: string;
}

export interface ScanResult {
  suspicious: boolean;
  findings: Finding[];
}

/** A tool definition as the upstream listed it: every field besides `name` is scanned. */
export interface ScannableTool {
  name: string;
  description?: string | undefined;
  inputSchema?: unknown;
  readonly [field: string]: unknown;
}

/** Longer than this and the description is more likely a payload than documentation. */
export const MAX_DESCRIPTION_LENGTH = 2_000;

const EXCERPT_CONTEXT = 30;
const EXCERPT_MAX = 160;

// Zero-width and bidirectional controls, word joiners and invisible operators, the BOM, and Unicode
// tag characters, which render as nothing but some models read as ASCII ("ASCII smuggling").
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u{E0000}-\u{E007F}]/u;
const INVISIBLE_GLOBAL = new RegExp(INVISIBLE.source, 'gu');

// Between two words: whitespace, punctuation or markdown, never a letter or digit. Keeping this class
// disjoint from WORD is what keeps the patterns below free of ambiguous (super-linear) backtracking.
const SEP = '[^a-z0-9]{1,6}';
const WORD = '[a-z0-9]{1,24}';
/** Up to `count` arbitrary words, each preceded by a separator. */
const gap = (count: number): string => `(?:${SEP}${WORD}){0,${count}}`;
/** A phrase whose words may be separated by any separator (`system prompt`, `system-prompt`). */
const phrase = (text: string): string => text.split(' ').join(SEP);
const anyOf = (items: readonly string[]): string => `(?:${items.map(phrase).join('|')})`;
const pattern = (source: string, flags = 'i'): RegExp => new RegExp(source, flags);

/** A single pattern: the first match is the finding. */
interface PatternRule {
  code: FindingCode;
  pattern: RegExp;
}

/** `first` followed, within `window` characters of the same sentence, by `followedBy`. */
interface NearRule {
  code: FindingCode;
  first: RegExp;
  followedBy: RegExp;
  window: number;
}

type Rule = PatternRule | NearRule;

const OVERRIDE_VERBS = anyOf(['ignore', 'disregard', 'forget', 'override', 'overrule', 'bypass']);
const INSTRUCTION_NOUNS = anyOf([
  'instructions',
  'instruction',
  'directions',
  'directives',
  'directive',
  'guidelines',
  'guardrails',
  'system prompt',
  'system prompts',
  'system message',
  'developer message',
  'prompt',
  'prompts',
]);
const EARLIER = anyOf([
  'previous',
  'prior',
  'above',
  'preceding',
  'earlier',
  'former',
  'original',
  'existing',
  'all',
  'any',
  'other',
  'your',
  'safety',
  'security',
]);
const RULE_NOUNS = anyOf([
  'rules',
  'constraints',
  'restrictions',
  'policy',
  'policies',
  'context',
  'messages',
  'commands',
  'requests',
  'conversation',
]);

const TELL_VERBS = anyOf([
  'tell',
  'telling',
  'inform',
  'informing',
  'mention',
  'mentioning',
  'reveal',
  'revealing',
  'disclose',
  'disclosing',
  'show',
  'showing',
  'notify',
  'notifying',
  'alert',
  'alerting',
  'let',
  'letting',
  'warn',
  'explain',
  'explaining',
]);
const NEGATIONS = anyOf([
  'do not',
  'dont',
  "don't",
  'don’t',
  'never',
  'must not',
  'should not',
  'shouldnt',
  "shouldn't",
  'without',
]);
const AUDIENCE = anyOf([
  'user',
  'users',
  'human',
  'humans',
  'operator',
  'anyone',
  'owner',
  'requester',
  'this instruction',
  'these instructions',
  'this step',
  'this note',
]);

// Reading or handing over; deliberately not "get", "retrieve", "access" or "provide", which legitimate
// secret-manager and API tools use to describe themselves ("access token", "provide your API key").
const TAKE_VERBS = `\\b(?:read|cat|open|load|include|attach|append|embed|send|pass|upload|forward|post|transmit|leak|share|copy|collect|extract|dump|exfiltrate|steal|harvest|grab|${phrase('contents of')}|${phrase('content of')})(?:s|es|d|ed|ing)?\\b`;
const SECRET_TARGETS = [
  '\\.ssh\\b',
  `\\bssh${SEP}(?:private${SEP})?keys?\\b`,
  '\\bid_(?:rsa|dsa|ecdsa|ed25519)\\b',
  `\\b(?:private|secret|signing)${SEP}keys?\\b`,
  `\\bapi${SEP}keys?\\b`,
  `\\b(?:access|auth|bearer|session|refresh)${SEP}tokens?\\b`,
  '\\.env\\b',
  '\\bcredentials?\\b',
  `\\bpasswords?\\b(?!${SEP}reset)`,
  '\\bsecrets\\b',
  '\\bkeychains?\\b',
  `\\b(?:seed|recovery)${SEP}phrases?\\b`,
  `\\benvironment${SEP}variables\\b`,
  '/etc/(?:passwd|shadow)\\b',
].join('|');

const SEND_VERBS =
  '\\b(?:send|forward|post|upload|transmit|email|mail|exfiltrate|leak|relay)(?:s|es|d|ed|ing)?\\b';
// Uploading to "a remote server" is what many legitimate tools do; a destination spelled out in the
// description itself (a URL, an address, a phone number) is what an injected instruction needs.
const DESTINATIONS = [
  'https?://',
  '[a-z0-9]@[a-z0-9-]{1,63}\\.[a-z]{2,10}\\b',
  '\\+[0-9]{7,15}\\b',
  `\\b(?:the${SEP}following|this|that)${SEP}(?:url|address|endpoint|number|email|recipient|server|host|webhook)\\b`,
  '\\battacker',
].join('|');

const TOOL_CALL_VERBS =
  '\\b(?:read|call|invoke|use|run|execute|open|send|fetch|load|pass|include)(?:s|ing)?\\b';
// A name that looks like a tool (has `_`, `-`, `.`, `/` or `:` in it), as opposed to an English word.
const TOOL_NAME = '[`\'"]?[a-z0-9]{1,32}[_.:/-][a-z0-9_.:/-]{0,64}[`\'"]?';

const RULES: readonly Rule[] = [
  {
    code: 'override_instructions',
    pattern: pattern(`\\b${OVERRIDE_VERBS}${gap(4)}${SEP}${INSTRUCTION_NOUNS}\\b`),
  },
  {
    code: 'override_instructions',
    pattern: pattern(`\\b${OVERRIDE_VERBS}${gap(2)}${SEP}${EARLIER}${SEP}${RULE_NOUNS}\\b`),
  },
  {
    code: 'override_instructions',
    pattern: pattern(
      `\\b(?:${phrase('you are now')}|${phrase('from now on')}|${phrase('new instructions')}|(?:takes?|has|have)${SEP}(?:precedence|priority)${SEP}over${gap(3)}${SEP}(?:${INSTRUCTION_NOUNS}|rules|${phrase('the user')}))\\b`,
    ),
  },
  {
    code: 'model_directive',
    // Plain "you must provide a path" is ordinary parameter guidance; an unconditional order is not.
    pattern: pattern(
      `\\byou${SEP}(?:must|shall|${phrase('are required to')}|${phrase('have to')})${SEP}${anyOf([
        'always',
        'never',
        'first',
        'also',
        'immediately',
        'now',
        'not tell',
        'not mention',
        'ignore',
        'forget',
        'obey',
        'follow these',
        'comply',
        'read',
        'call',
        'invoke',
        'send',
        'include',
        'pass',
        'tell',
        'mention',
        'reveal',
      ])}\\b`,
    ),
  },
  {
    code: 'model_directive',
    pattern: pattern(
      `\\b(?:(?:note|message|instructions?|reminder)${SEP}(?:to|for)${SEP}(?:the${SEP})?|if${SEP}you${SEP}are${SEP}an?${SEP})(?:ai|assistant|llm|${phrase('language model')}|${phrase('ai model')}|${phrase('ai agent')})\\b`,
    ),
  },
  {
    code: 'concealment',
    first: pattern(`\\b${NEGATIONS}${SEP}${TELL_VERBS}\\b`, 'gi'),
    followedBy: pattern(`\\b${AUDIENCE}\\b`, 'gi'),
    window: 40,
  },
  {
    code: 'concealment',
    pattern: pattern(
      `\\b${NEGATIONS}${SEP}(?:mention|mentioning|reveal|revealing|disclose|disclosing)${SEP}(?:that|this|it|these|${phrase('the fact')})\\b`,
    ),
  },
  {
    code: 'concealment',
    pattern: pattern(
      `\\b(?:(?:keep|hide|conceal)${SEP}(?:this|it|these|that)${gap(2)}${SEP}(?:from${SEP}(?:the${SEP})?(?:user|human)|secret|hidden|confidential)|the${SEP}user${SEP}(?:must|should|need|will)${SEP}(?:not|never)${SEP}(?:know|see|notice|${phrase('be told')}|${phrase('find out')})|secretly|covertly|surreptitiously|${phrase('without the user')}${SEP}(?:knowing|noticing))\\b`,
    ),
  },
  {
    code: 'secret_access',
    first: pattern(TAKE_VERBS, 'gi'),
    followedBy: pattern(`(?:${SECRET_TARGETS})`, 'gi'),
    window: 80,
  },
  {
    code: 'cross_tool_instruction',
    first: pattern(
      `\\bbefore${SEP}(?:using|calling|invoking|running|executing)${SEP}(?:this|the|any|these)${SEP}(?:tool|function)s?\\b`,
      'gi',
    ),
    followedBy: pattern(TOOL_CALL_VERBS, 'gi'),
    window: 60,
  },
  {
    code: 'cross_tool_instruction',
    pattern: pattern(
      `\\bwhen(?:ever)?${SEP}(?:(?:the|any|another|other)${SEP})?(?:(?:tool|function)${SEP}${WORD}|${TOOL_NAME}(?:${SEP}${TOOL_NAME})?)(?:${SEP}(?:tool|function))?${SEP}(?:is|gets|was)${SEP}(?:called|invoked|used)\\b`,
    ),
  },
  {
    code: 'cross_tool_instruction',
    pattern: pattern(
      `\\b(?:also|then|always|additionally|immediately|secretly)${SEP}(?:call|invoke|execute|trigger)\\b|\\b(?:call|invoke)${SEP}(?:the${SEP})?(?:tool|function)${SEP}${TOOL_NAME}`,
    ),
  },
  {
    code: 'exfiltration',
    first: pattern(SEND_VERBS, 'gi'),
    followedBy: pattern(`(?:${DESTINATIONS})`, 'gi'),
    window: 80,
  },
  {
    code: 'exfiltration',
    pattern: pattern(
      `\\b(?:change|replace|set|redirect|override|switch)${SEP}(?:the${SEP})?(?:recipient|destination|receiver|${phrase('to address')}|${phrase('target address')})s?\\b`,
    ),
  },
  {
    code: 'markup_directive',
    pattern: pattern(
      `<[ /]{0,3}(?:important|system|instructions?|admin|hidden|critical|override|sys|assistant|developer|context)\\b[^<>\\n]{0,60}>|<\\|[a-z_]{1,30}\\|>|\\[/?(?:system|important|instructions?|inst|sys)\\]|<!--`,
    ),
  },
];

const SENTENCE_BREAK = /[.!?](?=\s)|\n/;

interface Hit {
  start: number;
  end: number;
}

function firstHit(text: string, rule: Rule): Hit | undefined {
  if ('pattern' in rule) {
    const match = rule.pattern.exec(text);
    return match ? { start: match.index, end: match.index + match[0].length } : undefined;
  }
  return nearHit(text, rule);
}

/**
 * Pairs each `followedBy` match with the nearest `first` match ending before it: two forward scans,
 * so linear in the text, where a single regex with an open gap could backtrack quadratically.
 */
function nearHit(text: string, rule: NearRule): Hit | undefined {
  rule.first.lastIndex = 0;
  rule.followedBy.lastIndex = 0;
  let previous: RegExpExecArray | null = null;
  let next = rule.first.exec(text);
  for (let target = rule.followedBy.exec(text); target !== null; target = rule.followedBy.exec(text)) {
    while (next !== null && next.index + next[0].length <= target.index) {
      previous = next;
      next = rule.first.exec(text);
    }
    if (previous !== null) {
      const end = previous.index + previous[0].length;
      // Window first: slicing an unbounded distance for every target would be quadratic.
      if (target.index - end <= rule.window && !SENTENCE_BREAK.test(text.slice(end, target.index))) {
        return { start: previous.index, end: target.index + target[0].length };
      }
    }
  }
  return undefined;
}

/**
 * What the rules look at: compatibility forms folded (fullwidth letters become ASCII), tag
 * characters decoded to the ASCII they smuggle, other invisible characters dropped, so that
 * `ig\u200Bnore` cannot dodge a rule (the invisible characters are reported separately).
 */
function normalise(text: string): string {
  return text.normalize('NFKC').replace(INVISIBLE_GLOBAL, (character) => {
    const code = character.codePointAt(0) ?? 0;
    return code >= 0xe0020 && code <= 0xe007e ? String.fromCharCode(code - 0xe0000) : '';
  });
}

function excerpt(text: string, hit: Hit): string {
  const from = Math.max(0, hit.start - EXCERPT_CONTEXT);
  const to = Math.min(text.length, hit.end + EXCERPT_CONTEXT, from + EXCERPT_MAX);
  const body = text.slice(from, to).replace(/\s+/g, ' ').trim();
  return `${from > 0 ? '…' : ''}${body}${to < text.length ? '…' : ''}`;
}

function hiddenCharacterFinding(text: string, field: string): Finding | undefined {
  const match = INVISIBLE.exec(text);
  if (match === null) return undefined;
  let count = 0;
  for (const _ of text.matchAll(INVISIBLE_GLOBAL)) count += 1;
  const code = (match[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  return {
    code: 'hidden_characters',
    excerpt: `${count} invisible or bidirectional control character(s), first U+${code} at offset ${match.index}`,
    field,
  };
}

function scanText(text: string, field: string, findings: Finding[], payload = false): void {
  const hidden = hiddenCharacterFinding(text, field);
  if (hidden) findings.push(hidden);
  if (!payload && text.length > MAX_DESCRIPTION_LENGTH) {
    findings.push({
      code: 'excessive_length',
      excerpt: `${text.length} characters (limit ${MAX_DESCRIPTION_LENGTH})`,
      field,
    });
  }
  const normalised = normalise(text);
  const seen = new Set<FindingCode>();
  for (const rule of RULES) {
    // One finding per code and field is enough for a reviewer; more would only bloat the audit event.
    if (seen.has(rule.code)) continue;
    const hit = firstHit(normalised, rule);
    if (hit === undefined) continue;
    seen.add(rule.code);
    findings.push({ code: rule.code, excerpt: excerpt(normalised, hit), field });
  }
}

/** Field names come from the upstream too: show them without control or invisible characters. */
function fieldSegment(key: string): string {
  return /^[A-Za-z0-9_$-]{1,64}$/.test(key)
    ? key
    : JSON.stringify(key.slice(0, 64)).replace(/[^\x20-\x7E]/g, '?');
}

/** A schema path, linked to its parent so that deep nesting does not copy ever longer strings. */
interface PathNode {
  segment: string;
  parent: PathNode | undefined;
  depth: number;
  /** The first PATH_ENDS segments, shared once the path is longer. */
  head: readonly string[];
}

const PATH_ENDS = 8;

function childPath(parent: PathNode, segment: string): PathNode {
  const head = parent.depth < PATH_ENDS ? [...parent.head, segment] : parent.head;
  return { segment, parent, depth: parent.depth + 1, head };
}

/** `inputSchema.properties.x.description`; very deep paths keep their first and last segments. */
function renderPath(node: PathNode): string {
  const join = (segments: readonly string[]) =>
    segments.reduce((path, segment) =>
      segment.startsWith('[') ? `${path}${segment}` : `${path}.${segment}`,
    );
  if (node.depth <= 2 * PATH_ENDS) {
    const segments: string[] = [];
    for (let at: PathNode | undefined = node; at !== undefined; at = at.parent) segments.push(at.segment);
    return join(segments.reverse());
  }
  const tail: string[] = [];
  for (let at: PathNode | undefined = node; tail.length < PATH_ENDS && at !== undefined; at = at.parent) {
    tail.push(at.segment);
  }
  return `${join(node.head)}.…${join(tail.reverse())}`;
}

const BARE_WORD = /^[A-Za-z0-9]{0,64}$/;

/**
 * A property name read as the words a model reads in it: `ignore_previous_instructions` and
 * `ignorePreviousInstructions` say "ignore previous instructions" (`_` is a word character to `\b`).
 */
function keyAsWords(key: string): string {
  return key.replace(/_/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2');
}

/** A `data:` URI (an icon, say) is an encoded payload, not prose: no length limit for it. */
const DATA_URI = /^data:[a-z0-9.+-]{1,40}\/[a-z0-9.+-]{1,80}[;,]/i;

/**
 * Every string the agent sees in a definition, besides its name: each string value at any depth (the
 * description, titles, enum values, defaults, examples, annotations, `_meta`, output schema, icons) and
 * each object key (a property name reaches the model as well). Iterative: depth is attacker-controlled.
 */
function definitionTexts(tool: ScannableTool): { path: PathNode; text: string }[] {
  const texts: { path: PathNode; text: string }[] = [];
  const visited = new Set<object>();
  const stack: { value: unknown; path: PathNode }[] = [];
  // Top-level fields, reversed onto the stack so findings come out in document order.
  const top = Object.entries(tool).filter(([key]) => key !== 'name');
  for (let index = top.length - 1; index >= 0; index -= 1) {
    const [key, value] = top[index] as [string, unknown];
    const segment = fieldSegment(key);
    stack.push({ value, path: { segment, parent: undefined, depth: 1, head: [segment] } });
  }
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: PathNode };
    if (typeof value === 'string') {
      // One bare word (`object`, `string`, `properties`) can match no rule: most schema strings are such.
      if (!BARE_WORD.test(value)) texts.push({ path, text: value });
      continue;
    }
    if (value === null || typeof value !== 'object' || visited.has(value)) continue;
    visited.add(value);
    const entries: [string, unknown][] = Array.isArray(value)
      ? value.map((item, index): [string, unknown] => [`[${index}]`, item])
      : Object.entries(value);
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const [key, child] = entries[index] as [string, unknown];
      const childNode = childPath(path, Array.isArray(value) ? key : fieldSegment(key));
      stack.push({ value: child, path: childNode });
      // the key itself, scanned before its value (pushed last, popped first)
      if (!Array.isArray(value)) stack.push({ value: keyAsWords(key), path: childPath(childNode, '(name)') });
    }
  }
  return texts;
}

export function scanToolDescription(tool: ScannableTool): ScanResult {
  const findings: Finding[] = [];
  // Names are identifiers, not prose: only invisible characters matter there (look-alike names).
  const hiddenInName = hiddenCharacterFinding(tool.name, 'name');
  if (hiddenInName) findings.push(hiddenInName);
  for (const { path, text } of definitionTexts(tool)) {
    scanText(text, renderPath(path), findings, DATA_URI.test(text));
  }
  return { suspicious: findings.length > 0, findings };
}
