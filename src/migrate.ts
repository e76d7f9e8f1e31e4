import { Command, Option } from "commander";
import { pino } from "pino";
import { loadConfig } from "./shared/config.ts";
import { loadEnvFile } from "./shared/env-file.ts";
import { MissionControlError } from "./shared/errors.ts";
import { createLogger } from "./shared/logger.ts";
import { migrate } from "./store/pg/migrate.ts";

// `npm run migrate -- --to postgres` / `--to file`: copies the tasks, goals, reminders and server
// settings between DATA_DIR's db.json and DATABASE_URL's database. Stop the bot first.

loadEnvFile();
const program = new Command("migrate")
  .description("copy Mission Control's records between DATA_DIR's db.json and DATABASE_URL")
  .addOption(
    new Option("--to <backend>", "where to copy them")
      .choices(["postgres", "file"])
      .makeOptionMandatory(),
  )
  .showHelpAfterError("(run with --help for usage)");
program.parse();
const { to } = program.opts<{ to: "postgres" | "file" }>();

try {
  const config = loadConfig(process.env);
  if (!config.DATABASE_URL)
    throw new MissionControlError(
      "DATABASE_URL is not set: name the PostgreSQL database, e.g. DATABASE_URL=postgres://mission:secret@localhost:5432/mission_control",
    );
  const log = createLogger("warn", pino.destination(2));
  const report = await migrate({ to, dataDir: config.DATA_DIR, url: config.DATABASE_URL, log });
  const lines = Object.entries(report.counts).map(
    ([list, c]) =>
      `  ${list.padEnd(10)} ${String(c.copied).padStart(6)} copied, ${c.held} there now`,
  );
  process.stdout.write(
    `Copied from ${report.from} to ${report.target}, read back and checked:\n${lines.join("\n")}\n`,
  );
} catch (err) {
  process.stderr.write(`${err instanceof MissionControlError ? err.message : err}\n`);
  process.exitCode = 1;
}
