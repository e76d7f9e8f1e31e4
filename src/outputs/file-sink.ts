import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { OutputSink, RunOutput } from "./sink.ts";

/** data/outputs/<task-id>/<timestamp>.md — the output kept whatever happens to the post. */
export function outputPath(dataDir: string, output: RunOutput): string {
  const stamp = output.startedAt.toISOString().replace(/[:.]/g, "-");
  return join(dataDir, "outputs", output.task.id, `${stamp}-a${output.attempt}.md`);
}

export function createFileSink(dataDir: string): OutputSink {
  return {
    name: "file",
    async publish(output) {
      const path = outputPath(dataDir, output);
      await mkdir(join(dataDir, "outputs", output.task.id), { recursive: true });
      await writeFile(
        path,
        output.markdown.endsWith("\n") ? output.markdown : `${output.markdown}\n`,
      );
    },
  };
}
