import { z } from "zod";
import { canonicalZone, systemTimeZone, timeZoneProblem } from "../time/timezone.ts";
import { ConfigError } from "./errors.ts";

// Every environment variable of DESIGN.md, in one schema. An empty value counts as unset, so a
// copied .env.example runs headless.

const snowflake = (name: string) =>
  z
    .string()
    .regex(/^\d{17,20}$/, `${name} must be a Discord id (17-20 digits), e.g. 123456789012345678`);

const idList = (name: string) =>
  z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((id) => id.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^\d{17,20}$/,
            `${name} must be a comma list of Discord ids, e.g. 123456789012345678,234567890123456789`,
          ),
      ),
    )
    .default([]);

const wholeNumber = (name: string, min: number, example: number) =>
  z.coerce
    .number({ error: `${name} must be a whole number, e.g. ${name}=${example}` })
    .int(`${name} must be a whole number, e.g. ${name}=${example}`)
    .min(min, `${name} must be at least ${min}, e.g. ${name}=${example}`);

const Variables = z.object({
  DISCORD_TOKEN: z.string().optional(),
  DISCORD_API_URL: z
    .url({ error: "DISCORD_API_URL must be an http(s) URL, e.g. http://127.0.0.1:3000/api" })
    .optional(),
  DISCORD_GUILD_ID: snowflake("DISCORD_GUILD_ID").optional(),
  BRIEFING_CHANNEL_ID: snowflake("BRIEFING_CHANNEL_ID").optional(),
  ALERT_USER_ID: snowflake("ALERT_USER_ID").optional(),
  ADMIN_USER_IDS: idList("ADMIN_USER_IDS"),
  ALLOWED_GUILD_IDS: idList("ALLOWED_GUILD_IDS"),
  DATA_DIR: z.string().default("./data"),
  DATABASE_URL: z
    .string()
    .refine(
      (url) => /^postgres(ql)?:\/\/./i.test(url) && URL.canParse(url),
      "DATABASE_URL must be a postgres:// or postgresql:// URL, e.g. postgres://mission:secret@localhost:5432/mission_control",
    )
    .optional(),
  DEFAULT_TIMEZONE: z
    .string()
    .transform((zone, ctx) => {
      const canonical = canonicalZone(zone);
      if (!canonical)
        ctx.addIssue({ code: "custom", message: `DEFAULT_TIMEZONE: ${timeZoneProblem(zone)}` });
      return canonical ?? zone;
    })
    .default(systemTimeZone),
  MIN_INTERVAL_SECONDS: wholeNumber("MIN_INTERVAL_SECONDS", 1, 60).default(60),
  CATCH_UP_WINDOW_MINUTES: wholeNumber("CATCH_UP_WINDOW_MINUTES", 0, 60).default(60),
  MAX_TASKS_PER_SERVER: wholeNumber("MAX_TASKS_PER_SERVER", 1, 50).default(50),
  MANUAL_RUN_INTERVAL_SECONDS: wholeNumber("MANUAL_RUN_INTERVAL_SECONDS", 0, 10).default(10),
  RETENTION_DAYS: wholeNumber("RETENTION_DAYS", 1, 90).default(90),
  SERVER_DATA_RETENTION_DAYS: wholeNumber("SERVER_DATA_RETENTION_DAYS", 0, 30).default(30),
  DASHBOARD_PORT: wholeNumber("DASHBOARD_PORT", 0, 3000)
    .max(65535, "DASHBOARD_PORT must be a port number (0 turns the dashboard off), e.g. 3000")
    .default(3000),
  DASHBOARD_HOST: z.string().default("127.0.0.1"),
  PUBLIC_URL: z
    .url({ error: "PUBLIC_URL must be an http(s) URL, e.g. https://mission.example.com" })
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  DISCORD_CLIENT_SECRET: z.string().optional(),
  DISCORD_WEB_URL: z
    .url({ error: "DISCORD_WEB_URL must be an http(s) URL, e.g. https://discord.com" })
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  METRICS_TOKEN: z.string().optional(),
  LOG_FORMAT: z.enum(["json", "pretty"], { error: "LOG_FORMAT must be json or pretty" }).optional(),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent",
    })
    .default("info"),
  SHARD_ID: wholeNumber("SHARD_ID", 0, 0).optional(),
  SHARD_COUNT: wholeNumber("SHARD_COUNT", 1, 2).optional(),
});

export const ConfigSchema = Variables.superRefine(({ SHARD_ID, SHARD_COUNT }, ctx) => {
  // A process runs shard SHARD_ID of SHARD_COUNT: one without the other tells Discord nothing.
  const pair = "e.g. SHARD_ID=0 and SHARD_COUNT=2 (or neither, for one process)";
  if (SHARD_ID === undefined && SHARD_COUNT !== undefined)
    ctx.addIssue({
      code: "custom",
      path: ["SHARD_ID"],
      message: `SHARD_ID is missing: SHARD_COUNT is set, and the two go together, ${pair}`,
    });
  else if (SHARD_ID !== undefined && SHARD_COUNT === undefined)
    ctx.addIssue({
      code: "custom",
      path: ["SHARD_COUNT"],
      message: `SHARD_COUNT is missing: SHARD_ID is set, and the two go together, ${pair}`,
    });
  else if (SHARD_ID !== undefined && SHARD_COUNT !== undefined && SHARD_ID >= SHARD_COUNT)
    ctx.addIssue({
      code: "custom",
      path: ["SHARD_ID"],
      message: `SHARD_ID must be less than SHARD_COUNT (shards are numbered 0 to ${SHARD_COUNT - 1}), e.g. SHARD_ID=${SHARD_COUNT - 1} with SHARD_COUNT=${SHARD_COUNT}`,
    });
});

export type Config = z.infer<typeof ConfigSchema>;

/** Parses the environment; throws ConfigError with one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const value = env[key]?.trim();
    if (value) present[key] = value;
  }
  // discord.js's ShardingManager tells each process its shard in SHARDS, beside SHARD_COUNT.
  const managed = env.SHARDS?.trim();
  if (managed && !present.SHARD_ID) present.SHARD_ID = managerShard(managed);
  const parsed = ConfigSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const variable = String(issue?.path[0] ?? "configuration");
  const message = issue?.message ?? "invalid";
  throw new ConfigError(
    `Invalid configuration: ${message.startsWith(variable) ? message : `${variable}: ${message}`}`,
  );
}

/**
 * For `npm run start:sharded`, which gives each of its processes a shard and runs none itself:
 * SHARD_COUNT alone is how many (unset: Discord's recommendation), and a SHARD_ID would give
 * them all that one shard.
 */
export function loadManagerConfig(env: Record<string, string | undefined>): Config {
  if (env.SHARD_ID?.trim())
    throw new ConfigError(
      "Invalid configuration: SHARD_ID must be unset for npm run start:sharded, which gives each process its shard; SHARD_COUNT alone says how many, e.g. SHARD_COUNT=2 (unset: Discord's recommendation)",
    );
  // Shard 0 stands in for the one the manager does not run, so SHARD_COUNT is checked as usual.
  return loadConfig({ ...env, SHARDS: undefined, SHARD_ID: env.SHARD_COUNT?.trim() ? "0" : "" });
}

/** SHARDS as discord.js's ShardingManager sets it ("1", or a list "[1]"): one shard here. */
function managerShard(value: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {}
  const id = Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed;
  if (Number.isInteger(id)) return String(id);
  throw new ConfigError(
    "Invalid configuration: SHARDS must name one shard, as discord.js's ShardingManager does (one shard per process), e.g. SHARDS=[1]; or set SHARD_ID instead",
  );
}
