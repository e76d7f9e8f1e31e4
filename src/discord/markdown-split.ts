import { Lexer, type Token, type Tokens } from "marked";

/** Discord's per-message limit, counted here as JS string length (UTF-16 code units). */
export const DISCORD_MESSAGE_LIMIT = 2000;

/** Below this a reopened fence plus its closer would leave almost no room for content. */
const MIN_LIMIT = 20;

/**
 * Splits markdown into Discord messages of at most `limit` characters each.
 *
 * Whole top-level blocks are packed greedily; a block that does not fit is split at the
 * gentlest boundary available (list items, table rows, paragraph breaks, lines, sentences,
 * words, then anywhere that does not break a surrogate pair). Code fences are closed at every
 * cut and reopened after it, so each message renders on its own.
 */
export function splitForDiscord(markdown: string, limit = DISCORD_MESSAGE_LIMIT): string[] {
  if (!Number.isInteger(limit) || limit < MIN_LIMIT) {
    throw new RangeError(`limit must be an integer >= ${MIN_LIMIT}, got ${limit}`);
  }
  const text = markdown.replace(/\r\n?/g, "\n");
  if (text.trim() === "") return [];
  const pieces = blocksOf(text).flatMap((block) => piecesOf(block, limit));
  return pack(pieces, limit);
}

/** Top-level blocks whose `raw` texts concatenate back to `text` exactly. */
function blocksOf(text: string): Token[] {
  try {
    const tokens = Lexer.lex(text);
    if (tokens.map((token) => token.raw).join("") === text) return tokens;
  } catch {
    // marked throws on input it cannot make progress on; plain line splitting still works.
  }
  return [{ type: "text", raw: text }];
}

/** Cuts one block into pieces that each fit in a message and leave no fence open. */
function piecesOf(block: Token, limit: number): string[] {
  const raw = block.raw;
  if (block.type === "table") return tableParts(raw, limit);
  if (block.type === "code" && block.codeBlockStyle === "indented") {
    // Discord does not render indented code, so it becomes a fenced block.
    return splitBlock(fenced(block.text), limit);
  }
  if (block.type === "list" && !fitsWhole(raw, limit)) {
    return listParts(block as Tokens.List, limit);
  }
  return splitBlock(raw, limit);
}

function splitBlock(text: string, limit: number): string[] {
  return fitsWhole(text, limit) ? [text] : splitLines(text, limit);
}

function fitsWhole(text: string, limit: number): boolean {
  return trimBlankLines(text).length <= limit && fenceAfter(text, limit) === undefined;
}

/** Lists split between items; only an item too big for a message is split inside. */
function listParts(list: Tokens.List, limit: number): string[] {
  const items: string[] = [];
  let offset = 0;
  for (const item of list.items) {
    // marked may leave trailing whitespace out of an item; anything else means we cannot
    // rebuild the list from its items, so fall back to lines.
    if (!list.raw.startsWith(item.raw, offset)) return splitLines(list.raw, limit);
    items.push(item.raw);
    offset += item.raw.length;
  }
  items.push(list.raw.slice(offset));
  return items.filter((item) => item !== "").flatMap((item) => splitBlock(item, limit));
}

/**
 * Discord shows table markdown literally, so a table goes in a code block, split between rows
 * with the header repeated at the top of each part.
 */
function tableParts(raw: string, limit: number): string[] {
  const body = raw.trimEnd();
  const fence = fenceFor(body);
  const whole = `${fence}\n${body}\n${fence}`;
  if (whole.length <= limit) return [whole];

  const [header = "", divider = "", ...rows] = body.split("\n");
  const head = `${fence}\n${header}\n${divider}\n`;
  // Repeating a header that wide would leave little room for rows.
  if (head.length + fence.length > limit / 2) return splitLines(whole, limit);

  const parts: string[] = [];
  let part = head;
  const close = () => {
    if (part !== head) parts.push(part + fence);
    part = head;
  };
  for (const row of rows) {
    if (part.length + row.length + 1 + fence.length > limit) close();
    if (part.length + row.length + 1 + fence.length <= limit) {
      part += `${row}\n`;
    } else {
      // A single row wider than a message: cut it like any long code line.
      parts.push(...splitLines(`${head}${row}\n${fence}`, limit));
    }
  }
  close();
  return parts;
}

/** Wraps text in a backtick fence that no line of the text can close. */
function fenced(text: string): string {
  const body = text.replace(/\n+$/, "");
  const fence = fenceFor(body);
  return `${fence}\n${body}\n${fence}`;
}

function fenceFor(text: string): string {
  let longest = 2;
  for (const match of text.matchAll(/^[ \t>]*(`{3,})/gm)) {
    longest = Math.max(longest, match[1]?.length ?? 0);
  }
  return "`".repeat(longest + 1);
}

/** A code fence open at some point of the text. */
interface Fence {
  /** The backtick or tilde run that opened it; a closer needs at least as many. */
  marker: string;
  /** The line that starts the block again in the next piece. */
  reopen: string;
  /** The line that ends the block at a cut. */
  close: string;
}

/**
 * CommonMark fence syntax, but with any indentation or blockquote prefix: fences inside
 * list items and quotes must be closed and reopened at a cut just like top-level ones.
 */
const FENCE_LINE = /^([ \t>]*)(`{3,}|~{3,})(.*)$/;

/** The fence open after `line`, given the one open before it. */
function nextFence(open: Fence | undefined, line: string, limit: number): Fence | undefined {
  // Longer fence lines are left as text: a reopen, a closer and a little content must fit in
  // one message, and such lines only occur in pathological input.
  if (line.length > (limit - 4) / 2) return open;
  const match = FENCE_LINE.exec(line);
  if (!match) return open;
  const [, prefix = "", marker = "", info = ""] = match;
  if (open) {
    const closes =
      marker[0] === open.marker[0] && marker.length >= open.marker.length && info.trim() === "";
    return closes ? undefined : open;
  }
  if (marker[0] === "`" && info.includes("`")) return undefined;
  return { marker, reopen: line, close: prefix + marker };
}

/** The fence left open at the end of `text`, if any. */
function fenceAfter(text: string, limit: number): Fence | undefined {
  if (!text.includes("```") && !text.includes("~~~")) return undefined;
  let fence: Fence | undefined;
  for (const line of text.split("\n")) fence = nextFence(fence, line, limit);
  return fence;
}

/** Splits text at line boundaries, closing an open fence at each cut and reopening it after. */
function splitLines(text: string, limit: number): string[] {
  const splitter = new LineSplitter(limit);
  const endsWithNewline = text.endsWith("\n");
  for (const line of (endsWithNewline ? text.slice(0, -1) : text).split("\n")) splitter.add(line);
  return splitter.finish(endsWithNewline);
}

class LineSplitter {
  readonly #limit: number;
  readonly #pieces: string[] = [];
  /** Lines of the piece being built; they end up joined with "\n". */
  #lines: string[] = [];
  /** Length of `#lines` joined. */
  #size = 0;
  /** Fence open after the last line in `#lines`. */
  #fence: Fence | undefined;
  /** Index of the first content line: 1 when `#lines` starts with a reopened fence. */
  #first = 0;
  /** Index of the line that opened `#fence`, if it is in this piece. */
  #openedAt: number | undefined;
  /** Latest index where no fence is open: after a blank line or before a fence opener. */
  #cleanCut = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(input: string): void {
    // Trailing whitespace on a long line only wastes room, and can hide a short closing fence.
    const line = input.length > this.#limit / 2 ? input.trimEnd() : input;
    const after = nextFence(this.#fence, line, this.#limit);
    // Start a new piece first, preferably at a paragraph break or before a code block,
    // so that the line, or at least its first part, begins a piece.
    while (!this.#fits(line, after) && this.#canCut()) this.#cut(this.#preferredCut(), false);
    let rest = line;
    while (!this.#fits(rest, after)) {
      // Only text and code lines get here (fence lines are short), so `after` is the
      // fence that stays open across every part of the line.
      const room = this.#limit - this.#size - this.#separator() - closeCost(after);
      const at = cutIndex(rest, room);
      this.#push(rest.slice(0, at), after);
      this.#cut(this.#lines.length, true);
      rest = rest.slice(at);
    }
    this.#push(rest, after);
  }

  finish(endsWithNewline: boolean): string[] {
    if (this.#lines.length > this.#first) this.#cut(this.#lines.length, !endsWithNewline);
    return this.#pieces;
  }

  #fits(line: string, after: Fence | undefined): boolean {
    return this.#size + this.#separator() + line.length + closeCost(after) <= this.#limit;
  }

  #separator(): number {
    return this.#lines.length > 0 ? 1 : 0;
  }

  /** Cutting a piece that holds only a fence opener would emit an empty code block. */
  #canCut(): boolean {
    const onlyOpener = this.#lines.length === 1 && this.#openedAt === 0;
    return this.#lines.length > this.#first && !onlyOpener;
  }

  #preferredCut(): number {
    return this.#cleanCut > this.#first ? this.#cleanCut : this.#lines.length;
  }

  #push(line: string, after: Fence | undefined): void {
    const index = this.#lines.length;
    if (!this.#fence && after) {
      this.#openedAt = index;
      this.#cleanCut = index;
    } else if (!this.#fence && line.trim() === "") {
      this.#cleanCut = index + 1;
    }
    this.#size += this.#separator() + line.length;
    this.#lines.push(line);
    this.#fence = after;
  }

  /** Emits the first `count` lines as a piece and starts the next piece with the rest. */
  #cut(count: number, midLine: boolean): void {
    const closing = count === this.#lines.length ? this.#fence : undefined;
    this.#pieces.push(render(this.#lines.slice(0, count), closing, midLine));
    const carried = this.#lines.slice(count);
    // Before `#cleanCut` no fence is open, so carried lines never need a reopen.
    this.#lines = carried.length === 0 && this.#fence ? [this.#fence.reopen] : carried;
    this.#first = carried.length === 0 && this.#fence ? 1 : 0;
    this.#size = this.#lines.join("\n").length;
    this.#openedAt =
      this.#openedAt !== undefined && this.#openedAt >= count ? this.#openedAt - count : undefined;
    this.#cleanCut = 0;
  }
}

function closeCost(fence: Fence | undefined): number {
  return fence ? fence.close.length + 1 : 0;
}

function render(lines: string[], closing: Fence | undefined, midLine: boolean): string {
  const body = lines.join("\n");
  if (closing) return `${body}\n${closing.close}`;
  return midLine ? body : `${body}\n`;
}

/** Where to cut a line longer than `room`: after a sentence, else after a word, else anywhere safe. */
function cutIndex(line: string, room: number): number {
  return (
    lastGapEnd(line, /[.!?]+["')\]]*\s+/g, room, room / 2) ??
    lastGapEnd(line, /\s+/g, room, 1) ??
    hardCut(line, room)
  );
}

/** End of the last whitespace gap that ends within `room` and starts at or after `from`. */
function lastGapEnd(line: string, gap: RegExp, room: number, from: number): number | undefined {
  let best: number | undefined;
  // One character past `room` shows whether a gap ending there really ends.
  for (const match of line.slice(0, room + 1).matchAll(gap)) {
    const end = match.index + match[0].length;
    if (end <= room && match.index >= from && !startsFence(line, end)) best = end;
  }
  return best;
}

function hardCut(line: string, room: number): number {
  for (let at = room; at > 1; at--) {
    if (!splitsSurrogatePair(line, at) && !startsFence(line, at)) return at;
  }
  return splitsSurrogatePair(line, room) ? room - 1 : room;
}

function splitsSurrogatePair(text: string, at: number): boolean {
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}

const FENCE_AHEAD = /[ \t]*(?:```|~~~)/y;

/** Whether the text from `at` would read as a fence line once it starts a line of its own. */
function startsFence(text: string, at: number): boolean {
  FENCE_AHEAD.lastIndex = at;
  return FENCE_AHEAD.test(text);
}

/** Packs pieces greedily into messages. */
function pack(pieces: string[], limit: number): string[] {
  const messages: string[] = [];
  let current = "";
  for (const piece of pieces) {
    const joined = join(current, piece);
    if (joined.length <= limit || trimBlankLines(joined).length <= limit) {
      current = joined;
    } else {
      addMessage(messages, current);
      current = piece;
    }
  }
  addMessage(messages, current);
  return messages;
}

/** Pieces that start or end with a fence line may lack the line break that separates them. */
function join(current: string, piece: string): string {
  const sameLine = current !== "" && !current.endsWith("\n") && !piece.startsWith("\n");
  const needsBreak = sameLine && (startsFence(piece, 0) || endsWithFenceLine(current));
  return needsBreak ? `${current}\n${piece}` : current + piece;
}

function endsWithFenceLine(text: string): boolean {
  return FENCE_LINE.test(text.slice(text.lastIndexOf("\n") + 1));
}

function addMessage(messages: string[], text: string): void {
  const message = trimBlankLines(text);
  if (message !== "") messages.push(message);
}

/** Drops leading blank lines (keeping the first line's indentation) and trailing whitespace. */
function trimBlankLines(text: string): string {
  return text.replace(/^\s*\n/, "").trimEnd();
}
