// `npm run build` (and before `npm start` and `npm run bench`): TypeScript -> dist/, so the bot
// runs on plain Node. Running through tsx instead costs ~40 MB of memory for its loader thread.
// Type-stripping only, file by file (~1 s); `npm run typecheck` is what checks the types.
import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "dist");
const DIRS = ["src", "commands", "handlers", "bench"];
const options = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2022,
  rewriteRelativeImportExtensions: true,
  verbatimModuleSyntax: true,
  sourceMap: false,
};

async function* files(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

// A fresh tree each time (a handler deleted from handlers/ must not live on in dist/), built
// aside and swapped in, so a bot already running from dist/ never sees a half-built tree.
async function build() {
  const staging = `${OUT}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  let count = 0;
  for (const dir of DIRS) {
    for await (const file of files(join(ROOT, dir))) {
      const target = join(staging, relative(ROOT, file));
      await mkdir(dirname(target), { recursive: true });
      if (file.endsWith(".ts") && !file.endsWith(".d.ts")) {
        const { outputText } = ts.transpileModule(await readFile(file, "utf8"), {
          fileName: file,
          compilerOptions: options,
          reportDiagnostics: false,
        });
        await writeFile(target.replace(/\.ts$/, ".js"), outputText);
        count++;
      } else if (/\.m?js$/.test(file)) {
        await copyFile(file, target);
      }
    }
  }
  for (let tries = 1; ; tries++) {
    await rm(OUT, { recursive: true, force: true });
    try {
      await rename(staging, OUT);
      return count;
    } catch (err) {
      // Another build swapped its tree in meanwhile: take its place.
      if (tries >= 3 || !["ENOTEMPTY", "EEXIST"].includes(err.code)) throw err;
    }
  }
}

try {
  const count = await build();
  if (process.argv.includes("--verbose")) console.log(`built ${count} files into dist/`);
} catch (err) {
  // A read-only install (a container image built beforehand) runs the build it already has.
  const readOnly = ["EACCES", "EPERM", "EROFS"].includes(err.code);
  if (!readOnly || !existsSync(join(OUT, "src", "main.js"))) throw err;
  console.error(`could not rebuild dist/ (${err.code}); running the build already there`);
}
