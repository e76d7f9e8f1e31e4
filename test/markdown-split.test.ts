import { describe, expect, it } from "vitest";
import { DISCORD_MESSAGE_LIMIT, splitForDiscord } from "../src/discord/markdown-split.ts";

/** Fence lines in `chunk`, read with CommonMark's open/close rules (any indentation or `>`). */
function fences(chunk: string): { count: number; open: boolean } {
  let open: string | undefined;
  let count = 0;
  for (const line of chunk.split("\n")) {
    const match = /^[ \t>]*(`{3,}|~{3,})(.*)$/.exec(line);
    if (!match) continue;
    const [, marker = "", info = ""] = match;
    if (open === undefined) {
      if (marker[0] === "`" && info.includes("`")) continue;
      open = marker;
      count++;
    } else if (marker[0] === open[0] && marker.length >= open.length && info.trim() === "") {
      open = undefined;
      count++;
    }
  }
  return { count, open: open !== undefined };
}

const FENCE_ONLY_LINE = /^[ \t>]*(`{3,}|~{3,})[^\s`]*[ \t]*$/;
const TABLE_DIVIDER = /^[ \t]*\|?[ \t:|-]*-[ \t:|-]*$/;

/** Non-whitespace text left once fence-only lines (which the splitter adds) are removed. */
function content(text: string): string {
  return text
    .split("\n")
    .filter((line) => !FENCE_ONLY_LINE.test(line))
    .join("")
    .replace(/\s+/g, "");
}

/** The chunks' text without the table header the splitter repeats at the top of each table part. */
function withoutRepeatedHeaders(chunks: string[]): string {
  const kept: string[] = [];
  let lastHeader: string | undefined;
  for (const line of chunks.join("\n").split("\n")) {
    kept.push(line);
    const [fence, header, divider] = kept.slice(-3);
    if (fence === undefined || header === undefined || divider === undefined) continue;
    if (!FENCE_ONLY_LINE.test(fence) || !divider.includes("|") || !TABLE_DIVIDER.test(divider)) {
      continue;
    }
    const pair = `${header}\n${divider}`;
    if (pair === lastHeader) kept.splice(-2);
    lastHeader = pair;
  }
  return kept.join("\n");
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Every rule that holds for any input: size, no empty chunks, balanced fences, nothing lost. */
function expectValidSplit(chunks: string[], input: string, limit = DISCORD_MESSAGE_LIMIT): void {
  const checkSurrogates = !LONE_SURROGATE.test(input);
  chunks.forEach((chunk, i) => {
    const where = `chunk ${i} of ${chunks.length}: ${JSON.stringify(chunk.slice(0, 80))}`;
    expect(chunk.length, where).toBeLessThanOrEqual(limit);
    expect(chunk.trim(), where).not.toBe("");
    expect(chunk, where).toBe(chunk.replace(/^\s*\n/, "").trimEnd());
    const { count, open } = fences(chunk);
    expect({ even: count % 2 === 0, open }, where).toEqual({ even: true, open: false });
    if (checkSurrogates) expect(LONE_SURROGATE.test(chunk), where).toBe(false);
  });
  expect(content(withoutRepeatedHeaders(chunks))).toBe(content(input));
}

function split(input: string, limit = DISCORD_MESSAGE_LIMIT): string[] {
  const chunks = splitForDiscord(input, limit);
  expectValidSplit(chunks, input, limit);
  return chunks;
}

/** mulberry32: a tiny seeded generator, so failures reproduce. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  "the",
  "scheduler",
  "runs",
  "daily",
  "briefing",
  "at",
  "09:00",
  "**bold**",
  "_italic_",
  "`inline code`",
  "[link](https://example.com/a?b=c)",
  "@everyone",
  "<@123456789>",
  "😀",
  "👨‍👩‍👧",
  "🇯🇵",
  "日本語のテキスト",
  "naïve",
  "<b>html</b>",
  "a\u0001b",
  "x\u0000y",
  "tab\there",
  "~~struck~~",
  "1.5",
  "e.g.",
];

/** Random markdown of at least `size` characters mixing every block type the splitter handles. */
function randomMarkdown(seed: number, size: number): string {
  const random = seeded(seed);
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(" ");
  const sentence = () => `${words(3 + int(15))}${pick([".", "!", "?", ".", ""])}`;
  const paragraph = () => Array.from({ length: 1 + int(6) }, sentence).join(pick([" ", "\n"]));
  const codeLine = () =>
    int(40) === 0
      ? `const long = "${"x".repeat(100 + int(3000))}";`
      : `let v${int(99)} = ${words(int(6))};`;
  let tables = 0;
  const blocks: Array<() => string> = [
    paragraph,
    paragraph,
    () => Array.from({ length: 20 + int(40) }, sentence).join(" "),
    () => `${"#".repeat(1 + int(3))} ${sentence()}`,
    () => {
      const fence = pick(["```", "```", "~~~", "````"]);
      const lines = Array.from({ length: 1 + int(int(10) === 0 ? 300 : 30) }, codeLine);
      return `${fence}${pick(["ts", "js", "python", ""])}\n${lines.join("\n")}\n${fence}`;
    },
    () =>
      Array.from({ length: 1 + int(40) }, () => {
        const indent = "  ".repeat(int(4));
        const more = int(5) === 0 ? `\n\n${indent}  ${paragraph()}` : "";
        const code =
          int(8) === 0
            ? `\n\n${indent}  \`\`\`sh\n${indent}  ${codeLine()}\n${indent}  \`\`\``
            : "";
        return `${indent}${pick(["-", "*", "1."])} ${sentence()}${more}${code}`;
      }).join("\n"),
    () => {
      tables++;
      const rows = Array.from(
        { length: 1 + int(80) },
        () => `| ${int(1000)} | ${words(1 + int(4))} |`,
      );
      return [`| id${seed}x${tables} | note |`, "|---|:---:|", ...rows].join("\n");
    },
    () => `> ${Array.from({ length: 1 + int(5) }, sentence).join("\n> ")}`,
    () => `<div class="box">\n${sentence()}\n</div>`,
    () => "---",
    () => `    indented ${words(3)}\n    ${codeLine()}`,
  ];
  let text = "";
  while (text.length < size) text += `${pick(blocks)()}${pick(["\n\n", "\n\n", "\n", "\n\n\n"])}`;
  return text;
}

describe("splitForDiscord", () => {
  it("keeps short text as one trimmed chunk", () => {
    expect(split("Hello **world**, see `code`.")).toEqual(["Hello **world**, see `code`."]);
    expect(split("\n\n\nHello\n\n\n")).toEqual(["Hello"]);
  });

  it("returns nothing for empty or whitespace-only input", () => {
    expect(splitForDiscord("")).toEqual([]);
    expect(splitForDiscord(" \n\t\n\r\n  ")).toEqual([]);
  });

  it("fills a chunk exactly to the limit and no further", () => {
    const words = Array.from({ length: 400 }, () => "word").join(" "); // 1999 chars
    expect(split(`${words}!`)).toEqual([`${words}!`]);
    const chunks = split(`${words}!!`);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toBe("word!!");
  });

  it("rejects limits too small to hold a reopened fence", () => {
    expect(() => splitForDiscord("text", 10)).toThrow(RangeError);
    expect(() => splitForDiscord("text", Number.NaN)).toThrow(RangeError);
  });

  it("splits long paragraphs at paragraph breaks, then at sentence ends", () => {
    const sentence = "The daily briefing ran and every check passed. ";
    const paragraph = sentence.repeat(19).trim(); // 911 chars
    const input = Array.from({ length: 5 }, () => paragraph).join("\n\n");
    expect(split(input)).toEqual([
      `${paragraph}\n\n${paragraph}`,
      `${paragraph}\n\n${paragraph}`,
      paragraph,
    ]);

    const long = sentence.repeat(100).trim(); // 4,699 chars in one paragraph
    const chunks = split(long);
    expect(chunks.length).toBe(3);
    for (const chunk of chunks) expect(chunk.endsWith("passed.")).toBe(true);
  });

  it("splits a paragraph without sentences at word boundaries", () => {
    const input = Array.from({ length: 100 }, (_, i) => `word${i}`).join(" ");
    const chunks = split(input, 200);
    expect(chunks.length).toBeGreaterThan(3);
    const words = chunks.flatMap((chunk) => chunk.split(" "));
    expect(words).toEqual(input.split(" "));
  });

  it("splits a 10 KB code block by lines, reopening the fence with its language", () => {
    const lines = Array.from({ length: 400 }, (_, i) => `  const value${i} = compute(${i});`);
    const input = `Intro line.\n\n\`\`\`ts\n${lines.join("\n")}\n\`\`\`\n\nOutro line.`;
    expect(input.length).toBeGreaterThan(10_000);
    const chunks = split(input);
    expect(chunks.length).toBeGreaterThan(5);
    const codeChunks = chunks.filter((chunk) => chunk.includes("const value"));
    for (const chunk of codeChunks) {
      expect(chunk).toMatch(/(^|\n)```ts\n/);
      expect(chunk).toMatch(/\n```(\n|$)/);
    }
    const outputLines = new Set(chunks.flatMap((chunk) => chunk.split("\n")));
    for (const line of lines) expect(outputLines.has(line)).toBe(true);
    expect(chunks[0]?.startsWith("Intro line.")).toBe(true);
    expect(chunks.at(-1)?.endsWith("Outro line.")).toBe(true);
  });

  it("hard-splits a 5,000-character code line inside reopened fences", () => {
    const line = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(
      "",
    );
    const chunks = split(`\`\`\`python\n${line}\n\`\`\``);
    expect(chunks.length).toBe(3);
    for (const chunk of chunks) expect(chunk).toMatch(/^```python\n[a-z]+\n```$/);
    expect(chunks.map((chunk) => chunk.split("\n")[1]).join("")).toBe(line);
  });

  it("keeps nested fences balanced by reopening the longer fence", () => {
    const inner = Array.from({ length: 30 }, (_, i) => `\`\`\`js\nline ${i}\n\`\`\``).join("\n");
    const chunks = split(`\`\`\`\`markdown\n${inner}\n\`\`\`\``, 200);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const chunk of chunks) {
      expect(chunk.startsWith("````markdown\n")).toBe(true);
      expect(chunk.endsWith("\n````")).toBe(true);
    }
  });

  it("cuts an oversized block at a paragraph break or before a code block", () => {
    const first = `- ${"first paragraph ".repeat(5).trim()}`;
    const second = `  ${"second paragraph ".repeat(4).trim()}`;
    expect(split(`${first}\n\n${second}\n${second}`, 200)).toEqual([first, `${second}\n${second}`]);

    const code = ["  ```sh", ...Array.from({ length: 10 }, (_, i) => `  echo line ${i}`), "  ```"];
    const intro = `- ${"intro ".repeat(16).trim()}`;
    expect(split(`${intro}\n\n${code.join("\n")}`, 200)).toEqual([intro, code.join("\n")]);
  });

  it("never starts a chunk with a fence hidden inside a paragraph", () => {
    const input = Array.from({ length: 300 }, (_, i) => (i % 2 ? "```js" : "word")).join(" ");
    const chunks = split(input, 50);
    expect(chunks.length).toBeGreaterThan(20);
    for (const chunk of chunks) expect(chunk.startsWith("word")).toBe(true);
  });

  it("splits a long list between items", () => {
    const items = Array.from({ length: 300 }, (_, i) => `- item ${i}: check the disk on host ${i}`);
    const chunks = split(items.join("\n"));
    expect(chunks.length).toBeGreaterThan(4);
    const seen = chunks.flatMap((chunk) => chunk.split("\n"));
    expect(seen).toEqual(items);
  });

  it("keeps multi-line list items whole", () => {
    const items = Array.from(
      { length: 60 },
      (_, i) => `1. step ${i}\n   details for step ${i}\n\n   more on step ${i}`,
    );
    const chunks = split(items.join("\n"), 200);
    for (const chunk of chunks) {
      expect(chunk).toMatch(/^1\. step \d+\n/);
      expect(chunk).toMatch(/more on step \d+$/);
    }
  });

  it("splits a list item longer than the limit without losing its text", () => {
    const huge = `- ${"very long item text. ".repeat(150)}`;
    const input = ["- first", huge, "- last"].join("\n");
    const chunks = split(input);
    expect(chunks[0]).toBe("- first");
    expect(chunks.at(-1)?.endsWith("- last")).toBe(true);
    expect(chunks.length).toBe(3);
  });

  it("turns a table into a code block", () => {
    const table = "| a | b |\n|---|---|\n| 1 | 2 |";
    expect(split(`Stats:\n\n${table}\n\nDone.`)).toEqual([
      `Stats:\n\n\`\`\`\n${table}\n\`\`\`\n\nDone.`,
    ]);
  });

  it("splits a 200-row table by rows, repeating the header in each part", () => {
    const header = "| id | host | status |\n|---:|------|:------:|";
    const rows = Array.from({ length: 200 }, (_, i) => `| ${i} | host-${i}.example | ok |`);
    const chunks = split(`${header}\n${rows.join("\n")}`);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.startsWith(`\`\`\`\n${header}\n`)).toBe(true);
      expect(chunk.endsWith("\n```")).toBe(true);
    }
    const seenRows = chunks.flatMap((chunk) => chunk.split("\n").slice(3, -1));
    expect(seenRows).toEqual(rows);
  });

  it("closes an unclosed fence", () => {
    expect(split("Intro\n\n```js\nconst a = 1;")).toEqual(["Intro\n\n```js\nconst a = 1;\n```"]);
    expect(split("```")).toEqual(["```\n```"]);
    const chunks = split(`\`\`\`sh\n${"echo hi\n".repeat(600)}`);
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(chunk).toMatch(/^```sh\n(echo hi\n)+```$/);
  });

  it("converts indented code to a fenced block", () => {
    expect(split("Run:\n\n    npm test\n    npm run lint\n")).toEqual([
      "Run:\n\n```\nnpm test\nnpm run lint\n```",
    ]);
  });

  it("never splits a surrogate pair", () => {
    for (const prefix of ["", "a", "ab"]) {
      const input = `${prefix}${"😀".repeat(3000)}`;
      const chunks = split(input, 201);
      expect(chunks.join("")).toBe(input);
      expect(chunks.length).toBeGreaterThan(25);
    }
    const code = `\`\`\`\n${"🇯🇵".repeat(1200)}\n\`\`\``;
    const chunks = split(code, 99);
    expect(chunks.map((chunk) => chunk.split("\n")[1]).join("")).toBe("🇯🇵".repeat(1200));
  });

  it.each([
    ["unbalanced fences", "```\n```js\n~~~\n````"],
    ["a lone tilde fence", "text\n~~~"],
    ["html", "<div>\n<p>hi</p>\n\n<script>alert(1)</script>\n</div>".repeat(200)],
    ["mentions", "@everyone @here <@&123> ping ".repeat(300)],
    ["control characters", "\u0000\u0001\u0007\u001b[31m\u007f\u200b\ufeff".repeat(500)],
    ["carriage returns", "line\r\nline\rline\n".repeat(500)],
    ["lone surrogates", "\ud800x\udc00y".repeat(1000)],
    [
      "deeply nested lists",
      Array.from({ length: 100 }, (_, i) => `${"  ".repeat(i)}- level ${i}`).join("\n"),
    ],
    [
      "nested blockquotes",
      Array.from({ length: 200 }, (_, i) => `${">".repeat(i + 1)} quote ${i}`).join("\n"),
    ],
    ["a quoted code block", `> \`\`\`js\n${"> code();\n".repeat(400)}> \`\`\``],
    [
      "a code block inside a list item",
      `- item\n\n  \`\`\`js\n${"  code();\n".repeat(400)}  \`\`\``,
    ],
    ["one 100 KB word", "x".repeat(100_000)],
    ["only newlines", `a${"\n".repeat(10_000)}b`],
    ["a long heading", `# ${"title ".repeat(1000)}`],
    ["link definitions", "[ref]: https://example.com\n".repeat(300)],
    ["inline triple backticks", "see ```code``` and ```more``` here. ".repeat(200)],
  ])("handles %s", (_name, input) => {
    for (const limit of [DISCORD_MESSAGE_LIMIT, 200, 20]) split(input, limit);
  });

  it.each([
    ["a line of backticks", `text ${"`".repeat(5000)} text`],
    ["an opener longer than half a message", `\`\`\`${"lang ".repeat(500)}\ncode\n\`\`\``],
  ])("keeps the limit and the text on pathological fences: %s", (_name, input) => {
    // No cut can avoid starting a part with a fence here, so balance is not promised.
    for (const limit of [DISCORD_MESSAGE_LIMIT, 200, 20]) {
      const chunks = splitForDiscord(input, limit);
      for (const chunk of chunks) {
        expect(chunk.length).toBeLessThanOrEqual(limit);
        expect(chunk.trim()).not.toBe("");
      }
      // Added fences may sit anywhere, so check only that the input survives in order.
      const output = chunks.join("").replace(/\s+/g, "");
      let found = 0;
      for (const char of input.replace(/\s+/g, "")) {
        found = output.indexOf(char, found) + 1;
        expect(found).toBeGreaterThan(0);
      }
      expect(output.length).toBeLessThan(input.length + 20 * chunks.length);
    }
  });

  it.each([1, 2, 3, 4, 5])("splits 100 KB of random markdown (seed %i)", (seed) => {
    const input = randomMarkdown(seed, 100_000);
    expect(input.length).toBeGreaterThanOrEqual(100_000);
    const chunks = split(input);
    expect(chunks.length).toBeGreaterThanOrEqual(50);
    // A greedy packer leaves little slack: the average chunk is well over half full.
    expect(input.length / chunks.length).toBeGreaterThan(DISCORD_MESSAGE_LIMIT / 2);
    split(input, 200);
  });
});
