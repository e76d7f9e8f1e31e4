import { runCli } from "./cli/program.ts";
import { loadEnvFile } from "./shared/env-file.ts";
import { DEFAULT_HANDLERS_DIR } from "./tasks/handler.ts";

// `npm run cli -- <command>` (or `node --import tsx src/cli.ts <command>`).

loadEnvFile();
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  handlersDir: DEFAULT_HANDLERS_DIR,
});
process.exitCode = code;
