// Errors a user can act on. Adapters (CLI, slash commands) show `message` as is; the log gets
// the class name and fields. Branch on the class, never on the text.

export class MissionControlError extends Error {
  override name = "MissionControlError";
}

/** Input that breaks a rule: names the field, what is allowed and an example of the right form. */
export class ValidationError extends MissionControlError {
  override name = "ValidationError";
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly example?: string,
  ) {
    super(`${field}: ${problem}${example ? ` — e.g. ${example}` : ""}`);
  }
}

export class NotFoundError extends MissionControlError {
  override name = "NotFoundError";
  constructor(
    readonly kind: "task" | "goal" | "reminder" | "handler",
    readonly id: string | number,
    hint = "",
  ) {
    super(`no ${kind} with id "${id}"${hint ? ` — ${hint}` : ""}`);
  }
}

export class ConflictError extends MissionControlError {
  override name = "ConflictError";
}

/** A limit of a shared bot (MAX_TASKS_PER_SERVER, manual runs): which one, and what to do. */
export class QuotaError extends MissionControlError {
  override name = "QuotaError";
}

/** A run of this task is in progress; runs of one task never overlap. */
export class AlreadyRunningError extends MissionControlError {
  override name = "AlreadyRunningError";
  constructor(readonly taskId: string) {
    super(`task "${taskId}" is already running; wait for it to finish`);
  }
}

/** Problems that stop the start: bad config, a locked or unreadable data dir, a corrupt db.json. */
export class StartupError extends MissionControlError {
  override name = "StartupError";
}

export class ConfigError extends StartupError {
  override name = "ConfigError";
}

export class StoreLockedError extends StartupError {
  override name = "StoreLockedError";
  constructor(
    readonly pid: number,
    readonly dataDir: string,
    readonly holder: "bot" | "cli" = "bot",
  ) {
    super(
      holder === "bot"
        ? `Mission Control is already running (pid ${pid}) on ${dataDir}; stop it first`
        : `another Mission Control command (pid ${pid}) is still using ${dataDir}; try again when it has finished`,
    );
  }
}

/** The db.json a message is about ("data/db.json", or "data/db.json with data/db.journal"). */
const dbJson = (file: string) => file.replace(/ with .*$/, "").replace(/db\.journal$/, "db.json");
const journalOf = (file: string) => dbJson(file).replace(/db\.json$/, "db.journal");

export class CorruptStoreError extends StartupError {
  override name = "CorruptStoreError";
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly newestBackup: string | null,
  ) {
    super(
      `${file} cannot be read: ${reason}. It was left untouched. ` +
        (newestBackup
          ? `Newest backup: ${newestBackup} — copy it over ${dbJson(file)} to restore it (${journalOf(file)} is replayed onto it only if it was written on that copy).`
          : `No backup exists; move ${file} away to start with an empty store.`),
    );
  }
}

export class NewerSchemaError extends StartupError {
  override name = "NewerSchemaError";
  constructor(file: string, found: number, supported: number) {
    super(
      `${file} has schemaVersion ${found}, newer than this version of Mission Control understands (${supported}); upgrade Mission Control or restore an older backup`,
    );
  }
}

/** A handler attempt ran past its timeoutSeconds. */
export class TimeoutError extends MissionControlError {
  override name = "TimeoutError";
  constructor(readonly seconds: number) {
    super(`timed out after ${seconds}s`);
  }
}

/** Text of any thrown value: handlers may throw strings, objects, or nothing. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
