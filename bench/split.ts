import { prng } from "./lib.ts";

// Splitting a 100 KB markdown output into Discord messages (src/markdown-split.ts). The module
// is being written elsewhere: when it is missing, throws, or returns an invalid split, the
// figure is skipped with the reason.

export interface SplitArgs {
  bytes: number;
  rounds: number;
  perRound: number;
}

export type SplitResult =
  | { ok: true; rounds: number[][]; chunks: number; inputChars: number }
  | { ok: false; reason: string };

/** Headings, paragraphs, lists, tables and code fences, like a long report. */
export function sampleMarkdown(bytes: number): string {
  const rnd = prng(42);
  const words = [
    "task",
    "run",
    "briefing",
    "**failed**",
    "`code`",
    "retry",
    "schedule",
    "[link](https://example.com)",
    "goal",
    "ok",
  ];
  const sentence = () =>
    `${Array.from({ length: 6 + Math.floor(rnd() * 14) }, () => words[Math.floor(rnd() * words.length)]).join(" ")}.`;
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    let block: string;
    switch (i % 6) {
      case 0:
        block = `## Section ${i}`;
        break;
      case 1:
        block = Array.from({ length: 3 + (i % 5) }, sentence).join(" ");
        break;
      case 2:
        block = Array.from({ length: 5 }, (_, k) => `- item ${k}: ${sentence()}`).join("\n");
        break;
      case 3:
        block = `| task | runs | failed |\n| --- | --- | --- |\n${Array.from({ length: 8 }, (_, k) => `| t${k} | ${k * 3} | ${k % 2} |`).join("\n")}`;
        break;
      case 4:
        block = `\`\`\`ts\n${Array.from({ length: 10 + (i % 40) }, (_, k) => `const x${k} = run(${k}); // ${sentence()}`).join("\n")}\n\`\`\``;
        break;
      default:
        block = `> ${sentence()}\n> ${sentence()}`;
    }
    parts.push(block);
    size += block.length + 2;
  }
  return parts.join("\n\n").slice(0, bytes);
}

export async function splitChild(a: SplitArgs): Promise<SplitResult> {
  let split: (markdown: string, limit?: number) => string[];
  try {
    const mod = await import("../src/discord/markdown-split.ts");
    split = mod.splitForDiscord;
    if (typeof split !== "function")
      return { ok: false, reason: "src/markdown-split.ts has no splitForDiscord" };
  } catch (err) {
    return {
      ok: false,
      reason: `src/markdown-split.ts cannot be loaded (${(err as Error).message.split("\n")[0]})`,
    };
  }
  const input = sampleMarkdown(a.bytes);
  let chunks: string[];
  try {
    chunks = split(input);
  } catch (err) {
    return { ok: false, reason: `splitForDiscord threw: ${(err as Error).message}` };
  }
  const tooLong = chunks.filter((c) => c.length > 2000).length;
  if (!chunks.length || tooLong) {
    return {
      ok: false,
      reason: `splitForDiscord returned an invalid split (${chunks.length} chunks, ${tooLong} over 2,000 characters)`,
    };
  }
  const rounds: number[][] = [];
  for (let r = 0; r < a.rounds; r++) {
    const ms: number[] = [];
    for (let i = 0; i < a.perRound; i++) {
      const t = performance.now();
      split(input);
      ms.push(performance.now() - t);
    }
    rounds.push(ms);
  }
  return { ok: true, rounds, chunks: chunks.length, inputChars: input.length };
}
