/**
 * @module gateway/upstream-stderr
 * What a stdio upstream writes to its standard error. It is always read: a pipe nobody reads fills
 * up and blocks the upstream on its next write. Each line is logged under the upstream's name, after
 * the upstream-text screen (it is the upstream's text, and may quote a secret: decision 0017), within
 * a budget per upstream, so a chatty one cannot flood Reins' log; what the budget leaves out is
 * counted and the count logged. The last lines of each process are kept (bounded) to explain a start
 * that fails or a death. A PEM private key is followed across reads: the screen recognises a key only
 * with its BEGIN line in the same text, so the lines after a BEGIN line whose END line is not in the
 * same read are withheld up to that END line (at most 200 lines or 64 KB: a stray BEGIN line does
 * not silence an upstream), in the log and in the last lines alike.
 */
import type { Stream } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { PRIVATE_KEY_LABEL } from '../detect/detectors.js';

export interface StderrLimits {
  /** Lines logged per window, per upstream (across restarts: a crash loop does not reset it). */
  readonly lines: number;
  /** Bytes logged per window, per upstream. */
  readonly bytes: number;
  readonly windowMs: number;
  /** Lines kept per process, shown when it fails to start or dies. */
  readonly tailLines: number;
  /** Characters of one line kept and screened; the rest of the line is only counted. */
  readonly lineChars: number;
  /** Characters of one (screened) line that are logged or shown. */
  readonly shownChars: number;
}

export const STDERR_LIMITS: StderrLimits = {
  lines: 100,
  bytes: 32 * 1024,
  windowMs: 10_000,
  tailLines: 20,
  lineChars: 8 * 1024,
  shownChars: 1_000,
};

const WITHHELD = '(lines withheld: they could not be screened for secrets)';

/** The lines of a private key block withheld at most: then what follows is logged again. */
const KEY_BLOCK_LINES = 200;
const KEY_BLOCK_CHARS = 64 * 1024;

/**
 * The BEGIN and END lines of a PEM private key, of every type src/detect recognises (RSA, EC, DSA,
 * OpenSSH, PKCS#8 and its ENCRYPTED form, PGP ... BLOCK): the label its `private_key` detector uses.
 */
const KEY_MARKER = new RegExp(`-----(BEGIN|END)(${PRIVATE_KEY_LABEL})-----`, 'g');

/** How long a death or failed start waits for the last bytes of stderr before it is reported. */
const SETTLE_MS = 1_000;

export interface UpstreamStderrOptions {
  /** `stderr`: a screened line of the upstream's; `dropped`: our count of lines not logged. */
  readonly log: (kind: 'stderr' | 'dropped', message: string) => void;
  readonly screen: (text: string) => string;
  readonly limits?: StderrLimits;
  /** The clock of the budget windows (tests pass their own). */
  readonly now?: () => number;
}

export interface StderrLine {
  /** At most `lineChars` characters. */
  readonly text: string;
  /** Characters cut off the end of the line. */
  readonly cut: number;
}

/** The stderr of every process of one upstream: one logging budget, a tail per process. */
export class UpstreamStderr {
  private readonly limits: StderrLimits;
  private readonly now: () => number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = { lines: 0, bytes: 0 };
  private dropped = { lines: 0, bytes: 0 };
  private windowTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: UpstreamStderrOptions) {
    this.limits = options.limits ?? STDERR_LIMITS;
    this.now = options.now ?? Date.now;
  }

  /** Reads `stream` (the stderr of a new process of this upstream) to its end. */
  follow(stream: Stream): StderrTail {
    return new StderrTail(stream, this.limits, {
      lines: (lines) => this.accept(lines, true),
      note: (note) => this.accept([{ text: note, cut: 0 }], false),
      ended: () => this.reportDropped(),
    });
  }

  /** The last lines of `tail`, screened, on one line to append to a message ('' if it wrote nothing). */
  async lastLines(tail: StderrTail): Promise<string> {
    await tail.settled(SETTLE_MS);
    const parts = tail.parts();
    if (parts.length === 0) return '';
    // each run of lines is screened apart: a placeholder is ours, and must not join a key's span
    const shownParts = parts.flatMap((part) =>
      typeof part === 'number'
        ? [`(${lineCount(part)} withheld: part of a private key)`]
        : this.screened(part),
    );
    // one line: error messages are shown by their first line (describeError)
    return `; its last lines on stderr: ${shownParts.join(' | ')}`;
  }

  /** Reports what was not logged; the upstream is closed. */
  close(): void {
    this.reportDropped();
    clearTimeout(this.windowTimer);
  }

  /** Logs what the budget admits of `lines`: the upstream's (`screen`), or a note of ours about them. */
  private accept(lines: readonly StderrLine[], screen: boolean): void {
    const admitted = lines.filter((line) => this.admit(line));
    if (admitted.length === 0) return;
    const logged = screen ? this.screened(admitted) : admitted.map((line) => line.text);
    for (const line of logged) this.options.log('stderr', line);
  }

  /**
   * Screens the lines as one text (a secret written over several lines, such as a PEM key, is
   * recognised whole), then cuts and escapes each line for the log.
   */
  private screened(lines: readonly StderrLine[]): string[] {
    let screened: string[];
    try {
      screened = this.options.screen(lines.map((line) => line.text).join('\n')).split('\n');
    } catch {
      return [WITHHELD]; // fail closed, and never throw from a stream's event handler
    }
    // a finding over several lines becomes one placeholder: then the cut counts no longer line up
    const aligned = screened.length === lines.length;
    return screened.map((text, index) =>
      shown(text, aligned ? (lines[index]?.cut ?? 0) : 0, this.limits.shownChars),
    );
  }

  /** Counts `line` against the window's budget: true if it may be logged. */
  private admit(line: StderrLine): boolean {
    const now = this.now();
    if (now - this.windowStart >= this.limits.windowMs) this.startWindow(now);
    const bytes = Buffer.byteLength(line.text.slice(0, this.limits.shownChars)) + 1;
    // once a line is left out (the window timer is set then), so is the rest of the window: the log
    // shows no line after a gap
    const fits = this.used.lines < this.limits.lines && this.used.bytes + bytes <= this.limits.bytes;
    if (fits && this.windowTimer === undefined) {
      this.used.lines++;
      this.used.bytes += bytes;
      return true;
    }
    this.dropped.lines++;
    this.dropped.bytes += Buffer.byteLength(line.text) + line.cut + 1;
    // the count is logged when the window ends, even if the upstream falls silent
    if (this.windowTimer === undefined) {
      this.windowTimer = setTimeout(
        () => this.startWindow(this.now()),
        this.windowStart + this.limits.windowMs - now,
      );
      this.windowTimer.unref();
    }
    return false;
  }

  private startWindow(now: number): void {
    this.reportDropped();
    clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
    this.windowStart = now;
    this.used = { lines: 0, bytes: 0 };
  }

  private reportDropped(): void {
    if (this.dropped.lines === 0) return;
    const { lines, bytes, windowMs } = this.limits;
    this.options.log(
      'dropped',
      `${count(this.dropped.lines)} lines (${size(this.dropped.bytes)}) of its stderr not logged: over the limit of ${count(lines)} lines or ${size(bytes)} per ${windowMs / 1000} s`,
    );
    this.dropped = { lines: 0, bytes: 0 };
  }
}

/** Where a line stands towards a private key block: outside, its BEGIN line, within it, its END line. */
type KeyRole = 'plain' | 'begin' | 'inside' | 'end';

interface TailEntry {
  readonly line: StderrLine;
  readonly role: KeyRole;
  /** A line of a key block that is not screened with its BEGIN line: never logged nor shown. */
  withheld: boolean;
}

/** The key block open at the end of the last line read. */
interface OpenBlock {
  /** `RSA PRIVATE KEY` and the like: only the END line of the same label ends it. */
  readonly label: string;
  /** The read its BEGIN line came in. */
  readonly read: number;
  lines: number;
  chars: number;
}

/** What a read gives: lines, and notes of ours about the lines withheld, in order. */
type ReadItem = TailEntry | { readonly note: string };

/** The lines of one process's stderr: split, cut to size, key blocks followed, the last ones kept. */
export class StderrTail {
  private readonly decoder = new StringDecoder('utf8');
  private readonly last: TailEntry[] = [];
  private partial = '';
  private partialCut = 0;
  private block: OpenBlock | undefined;
  private reads = 0;
  private readonly ended: Promise<void>;

  constructor(
    stream: Stream,
    private readonly limits: StderrLimits,
    private readonly sink: {
      lines(lines: readonly StderrLine[]): void;
      note(note: string): void;
      ended(): void;
    },
  ) {
    stream.on('data', (chunk: Buffer) => this.read(this.decoder.write(chunk)));
    this.ended = new Promise((resolve) => {
      stream.once('end', () => {
        this.read(this.decoder.end());
        if (this.partial.length > 0 || this.partialCut > 0) this.emit([this.take()]);
        if (this.block) {
          this.sink.note(
            `(${lineCount(this.block.lines)} withheld: a private key whose END line never came)`,
          );
          this.block = undefined;
        }
        this.sink.ended();
        resolve();
      });
      // a stream destroyed without an end (the process was killed) has nothing more to give
      stream.once('close', resolve);
      stream.once('error', resolve);
    });
  }

  /** The last lines read (at most `tailLines`). */
  lines(): readonly StderrLine[] {
    return this.last.map((entry) => entry.line);
  }

  /**
   * The last lines as runs to screen, and counts of lines withheld between them: the lines of a key
   * block read apart from its BEGIN line, and those whose BEGIN line is no longer among the last.
   */
  parts(): Array<StderrLine[] | number> {
    const parts: Array<StderrLine[] | number> = [];
    let begun = false; // the BEGIN line of the block these lines are in is among the last lines
    for (const entry of this.last) {
      if (entry.role === 'begin') begun = true;
      const hidden = (entry.role === 'inside' || entry.role === 'end') && (entry.withheld || !begun);
      if (entry.role === 'end') begun = false;
      const previous = parts.at(-1);
      if (hidden) {
        if (typeof previous === 'number') parts[parts.length - 1] = previous + 1;
        else parts.push(1);
      } else if (Array.isArray(previous)) previous.push(entry.line);
      else parts.push([entry.line]);
    }
    return parts;
  }

  /** Resolves once the stream has ended, or after `ms` (the process may have left a child holding it). */
  async settled(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([this.ended, timeout]);
    clearTimeout(timer);
  }

  private read(text: string): void {
    const complete: StderrLine[] = [];
    let from = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', from)) {
      this.append(text.slice(from, newline));
      complete.push(this.take());
      from = newline + 1;
    }
    this.append(text.slice(from));
    if (complete.length > 0) this.emit(complete);
  }

  /**
   * Passes on the lines of one read, in runs (each screened as one text), without the lines withheld:
   * a key block whose BEGIN and END lines are both in this read is screened whole; the lines after a
   * BEGIN line whose END line is not are withheld, in this read and the next, up to the END line.
   */
  private emit(lines: readonly StderrLine[]): void {
    this.reads++;
    const items = this.follow(lines);
    let run: StderrLine[] = [];
    const flush = () => {
      if (run.length > 0) this.sink.lines(run);
      run = [];
    };
    for (const item of items) {
      if ('note' in item) {
        flush();
        this.sink.note(item.note);
        continue;
      }
      this.keep(item);
      if (!item.withheld) run.push(item.line);
      else flush();
    }
    flush();
  }

  /** Follows key blocks through the lines of one read (see emit). */
  private follow(lines: readonly StderrLine[]): ReadItem[] {
    const items: ReadItem[] = [];
    let beganAt = -1; // the item of this read's BEGIN line of the open block
    for (const line of lines) {
      const chars = line.text.length + 1;
      if (this.block && (this.block.lines >= KEY_BLOCK_LINES || this.block.chars + chars > KEY_BLOCK_CHARS)) {
        items.push({ note: overflowNote(this.block.lines) });
        this.block = undefined;
      }
      const before = this.block;
      const after = openKeyAfter(line.text, before?.label);
      const role: KeyRole = before ? (after ? 'inside' : 'end') : after ? 'begin' : 'plain';
      items.push({ line, role, withheld: before !== undefined });
      if (!before) {
        if (after) this.block = { label: after, read: this.reads, lines: 0, chars: 0 };
        beganAt = items.length - 1;
        continue;
      }
      before.lines++;
      before.chars += chars;
      if (after) {
        this.block = { ...before, label: after }; // an END and a new BEGIN on one line: one block
        continue;
      }
      this.block = undefined;
      if (before.read === this.reads) {
        // the whole block is in this read: the screen sees it with its BEGIN line
        for (const item of items.slice(beganAt + 1)) if ('line' in item) item.withheld = false;
      } else {
        items.push({
          note: `(${lineCount(before.lines)} withheld: the rest of a private key, up to its END line)`,
        });
      }
    }
    return items;
  }

  /** Keeps `entry` among the last lines. */
  private keep(entry: TailEntry): void {
    this.last.push(entry);
    if (this.last.length > this.limits.tailLines) this.last.shift();
  }

  /** Adds to the current line what fits in `lineChars`, and counts the rest. */
  private append(piece: string): void {
    const room = this.limits.lineChars - this.partial.length;
    if (piece.length <= room) {
      this.partial += piece;
      return;
    }
    this.partial += piece.slice(0, room);
    this.partialCut += piece.length - room;
  }

  private take(): StderrLine {
    const text = this.partial.endsWith('\r') ? this.partial.slice(0, -1) : this.partial;
    const line = { text, cut: this.partialCut };
    this.partial = '';
    this.partialCut = 0;
    return line;
  }
}

/** The label of the key block open after `text`, given the one open before it (undefined: none). */
function openKeyAfter(text: string, open: string | undefined): string | undefined {
  let label = open;
  KEY_MARKER.lastIndex = 0;
  for (let marker = KEY_MARKER.exec(text); marker; marker = KEY_MARKER.exec(text)) {
    if (marker[1] === 'BEGIN' && label === undefined) label = marker[2];
    else if (marker[1] === 'END' && marker[2] === label) label = undefined;
  }
  return label;
}

function overflowNote(lines: number): string {
  return `(${lineCount(lines)} withheld after a private key BEGIN line with no END line within ${KEY_BLOCK_LINES} lines or ${KEY_BLOCK_CHARS / 1024} KB; what follows is logged)`;
}

/** A line as logged: at most `max` characters, control characters escaped, what was cut counted. */
function shown(text: string, cut: number, max: number): string {
  const omitted = Math.max(0, text.length - max) + cut;
  const kept = printable(text.length > max ? text.slice(0, max) : text);
  return omitted > 0 ? `${kept} … (${count(omitted)} more characters)` : kept;
}

/**
 * Escapes control characters and bidirectional overrides: upstream text must not move the cursor,
 * recolour the operator's terminal or disguise what a log line says.
 */
function printable(text: string): string {
  let result = '';
  let from = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const control =
      (code < 0x20 && code !== 0x09) ||
      (code >= 0x7f && code <= 0x9f) ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069);
    if (!control) continue;
    result += `${text.slice(from, index)}\\u${code.toString(16).padStart(4, '0')}`;
    from = index + 1;
  }
  return from === 0 ? text : result + text.slice(from);
}

const count = (value: number) => value.toLocaleString('en');
const lineCount = (value: number) => `${count(value)} ${value === 1 ? 'line' : 'lines'}`;

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
