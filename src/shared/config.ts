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

export const ConfigSchema = z.object({
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
});

export type Config = z.infer<typeof ConfigSchema>;

/** Parses the environment; throws ConfigError with one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const value = env[key]?.trim();
    if (value) present[key] = value;
  }
  const parsed = ConfigSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const variable = String(issue?.path[0] ?? "configuration");
  const message = issue?.message ?? "invalid";
  throw new ConfigError(
    `Invalid configuration: ${message.startsWith(variable) ? message : `${variable}: ${message}`}`,
  );
}
