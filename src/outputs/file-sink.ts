import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { OutputSink, RunOutput } from "./sink.ts";

/**
 * data/outputs/<task-id>/<timestamp>.md, or the handler's own saveAs (briefings/<date>.md): the
 * output kept whatever happens to the post.
 */
export function outputPath(dataDir: string, output: RunOutput): string {
  if (output.saveAs) return join(dataDir, output.saveAs);
  const stamp = output.startedAt.toISOString().replace(/[:.]/g, "-");
  return join(dataDir, "outputs", output.task.id, `${stamp}-a${output.attempt}.md`);
}

export function createFileSink(dataDir: string): OutputSink {
  return {
    name: "file",
    async publish(output) {
      const path = outputPath(dataDir, output);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(
        path,
        output.markdown.endsWith("\n") ? output.markdown : `${output.markdown}\n`,
      );
    },
  };
}
