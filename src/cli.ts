import { runCli } from "./cli/program.ts";
import { loadEnvFile } from "./shared/env-file.ts";
import { DEFAULT_HANDLERS_DIR } from "./tasks/handler.ts";

// `npm run cli -- <command>` (or `node --import tsx src/cli.ts <command>`).

loadEnvFile();
// Piped into `head`, the reader may go away early: nothing more to say, not a crash.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(process.exitCode ?? 0);
});
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  handlersDir: DEFAULT_HANDLERS_DIR,
});
process.exitCode = code;
