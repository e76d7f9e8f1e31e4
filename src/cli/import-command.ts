import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { TenantApi } from "../control/api.ts";
import { ConflictError, MissionControlError } from "../shared/errors.ts";
import type { Task } from "../tasks/model.ts";
import { convertPrototype } from "../tasks/prototype-import.ts";
import { formatSchedule } from "../time/schedule.ts";

// `import <file>`: the Python prototype's task JSON, each task checked like any other; an id
// already here is refused unless --skip-existing or --replace says what to do with it.

export function addImportCommand(
  program: Command,
  service: () => Promise<TenantApi>,
  io: { out(text: string): void; err(text: string): void },
): void {
  program
    .command("import <file>")
    .description("import tasks from the Python prototype's task JSON")
    .option("--skip-existing", "leave a task whose id is already here as it is")
    .option("--replace", "overwrite a task whose id is already here (its history is kept)")
    .action(async (file: string, o: { skipExisting?: boolean; replace?: boolean }) => {
      if (o.skipExisting && o.replace)
        throw new MissionControlError("--skip-existing and --replace: choose one");
      let json: unknown;
      try {
        json = JSON.parse(await readFile(file, "utf8"));
      } catch (err) {
        throw new MissionControlError(`${file} cannot be read as JSON: ${(err as Error).message}`);
      }
      const { tasks: inputs, problems } = convertPrototype(json);
      const total = inputs.length + problems.length;
      const s = await service();
      let imported = 0;
      let skipped = 0;
      const line = (mark: string, t: Task) =>
        `  ${mark} ${t.id}: ${t.handler}, ${formatSchedule(t.schedule)}${t.enabled ? "" : " (disabled)"}`;
      for (const input of inputs) {
        try {
          io.out(line("+", await s.addTask(input)));
          imported++;
        } catch (err) {
          if (!(err instanceof ConflictError) || !(o.skipExisting || o.replace)) {
            const hint =
              err instanceof ConflictError ? " (or import with --skip-existing or --replace)" : "";
            problems.push({ id: input.id, message: `${(err as Error).message}${hint}` });
          } else if (o.skipExisting) {
            io.out(`  = ${input.id}: already here, left as it is`);
            skipped++;
          } else {
            const { id, ...fields } = input;
            try {
              io.out(line("~", await s.editTask(id, fields)));
              imported++;
            } catch (e) {
              problems.push({ id, message: (e as Error).message });
            }
          }
        }
      }
      for (const p of problems) io.err(`  ! ${p.id}: ${p.message}`);
      io.out(
        `Imported ${imported} of ${total} task(s)${skipped ? `; ${skipped} left as they were` : ""}.`,
      );
      if (problems.length)
        throw new MissionControlError(
          `${problems.length} task(s) not imported; see the lines marked !`,
        );
    });
}
