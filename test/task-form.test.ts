import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createCommands } from "../commands/index.ts";
import { taskDetails } from "../src/cli/format.ts";
import { buildProgram } from "../src/cli/program.ts";
import { taskEmbed } from "../src/discord/format.ts";
import { ValidationError } from "../src/shared/errors.ts";
import {
  DEFAULT_HANDLERS_DIR,
  defineHandler,
  type Handler,
  loadHandlers,
} from "../src/tasks/handler.ts";
import { TaskSchema } from "../src/tasks/model.ts";
import { FIELD_KEYS, fieldValue, flagFields, slashFields } from "../src/tasks/task-form.ts";
import { makeWorld, type World } from "./support/world.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The options of one /task subcommand, by name. */
function slashOptions(handlers: Handler[], sub: "add" | "edit"): string[] {
  const task = createCommands(handlers).find((c) => c.data.name === "task");
  const subs = (task?.data.options ?? []) as { name: string; options?: { name: string }[] }[];
  const subcommand = subs.find((o) => o.name === sub);
  return (subcommand?.options ?? []).map((o) => o.name);
}

/** The long flags of one CLI command's help. */
function cliFlags(handlers: Handler[], path: string[]): string[] {
  const io = { env: {}, out: () => {}, err: () => {}, handlersDir: DEFAULT_HANDLERS_DIR };
  let cmd = buildProgram(io, handlers).program;
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name) ?? cmd;
  return cmd.options.map((o) => o.long ?? "");
}

describe("the task form: each field declared once", () => {
  it("every declared field is stored, and reaches the CLI and the slash commands it names", async () => {
    const handlers = await loadHandlers(DEFAULT_HANDLERS_DIR);
    const stored = TaskSchema.parse({
      guildId: "local",
      id: "a",
      name: "A",
      handler: "test",
      schedule: { type: "daily", time: "09:00" },
      timezone: "UTC",
      createdAt: "2026-11-26T00:00:00Z",
      updatedAt: "2026-11-26T00:00:00Z",
    });
    for (const key of FIELD_KEYS)
      expect([key, fieldValue(stored, key)]).not.toEqual([key, undefined]);
    for (const sub of [["add"], ["edit"]] as const) {
      const flags = cliFlags(handlers, ["tasks", ...sub]);
      for (const { spec } of flagFields) expect(flags).toContain(`--${spec.name}`);
      const options = slashOptions(handlers, sub[0]);
      for (const { spec } of slashFields) expect(options).toContain(spec.name);
    }
  });

  it("a handler's own option asks for a flag and a slash option in its schema, no adapter code", async () => {
    const greeter = defineHandler({
      name: "greeter",
      description: "says hello",
      options: z.object({
        greeting: z.string().max(200).meta({ description: "what to say", command: true }),
        volume: z.number().optional(),
      }),
      run: ({ options }) => options.greeting,
    });
    expect(cliFlags([greeter], ["tasks", "add"])).toContain("--greeting");
    expect(cliFlags([greeter], ["tasks", "add"])).not.toContain("--volume");
    expect(slashOptions([greeter], "edit")).toContain("greeting");
    expect(slashOptions([greeter], "edit")).not.toContain("message");
    // The bundled handlers: message asks for one, so --message and /task add message exist.
    const bundled = await loadHandlers(DEFAULT_HANDLERS_DIR);
    expect(cliFlags(bundled, ["tasks", "add"])).toContain("--message");
    expect(slashOptions(bundled, "add")).toContain("message");
  });

  it("description: set, shown in the CLI and the embed, cleared, and refused when too long", async () => {
    world = await makeWorld({ start: "2026-11-26T07:00:00Z" });
    const { service } = world.app;
    const added = await service.addTask("local", {
      id: "backup",
      handler: "test",
      schedule: "daily 02:30",
      description: "  Checks last night's backups  ",
    });
    expect(added.description).toBe("Checks last night's backups");
    expect(taskDetails(added, [])).toContain("  about:     Checks last night's backups");
    expect(JSON.stringify(taskEmbed(added, []).toJSON())).toContain(
      '{"name":"About","value":"Checks last night\'s backups"}',
    );
    const plain = await service.addTask("local", {
      id: "plain",
      handler: "test",
      schedule: "daily 09:00",
    });
    expect(plain.description).toBeNull();
    expect(taskDetails(plain, [])).not.toContain("about:");
    expect((await service.editTask("local", "backup", { description: "" })).description).toBeNull();
    const err = await service
      .editTask("local", "backup", { description: "x".repeat(301) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe("description");
    expect(service.getTask("local", "backup").description).toBeNull();
  });
});
