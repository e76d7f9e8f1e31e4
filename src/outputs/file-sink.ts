import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { OutputSink, RunOutput } from "./sink.ts";

/**
 * data/outputs/<server>/<task-id>/<timestamp>.md, or the handler's own saveAs in its server's
 * folder (briefings/<date>.md → briefings/<server>/<date>.md): the output kept whatever happens
 * to the post.
 */
export function outputPath(dataDir: string, output: RunOutput): string {
  const tenant = output.task.guildId;
  if (output.saveAs) {
    const [folder = "outputs", ...rest] = output.saveAs.split("/");
    return join(dataDir, folder, tenant, ...rest);
  }
  const stamp = output.startedAt.toISOString().replace(/[:.]/g, "-");
  return join(dataDir, "outputs", tenant, output.task.id, `${stamp}-a${output.attempt}.md`);
}

export function createFileSink(dataDir: string): OutputSink {
  return {
    name: "file",
    async publish(output) {
      const path = outputPath(dataDir, output);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFile(
        path,
        output.markdown.endsWith("\n") ? output.markdown : `${output.markdown}\n`,
        { mode: 0o600 },
      );
    },
  };
}
