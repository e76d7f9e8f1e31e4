import { describe, expect, it } from "vitest";
import { ByTask } from "../src/tasks/by-task.ts";

describe("ByTask", () => {
  it("keeps one value per tenant and task id: the same id in two tenants is two entries", () => {
    const map = new ByTask<string>();
    map.set("local", "brief", "a");
    map.set("123456789012345678", "brief", "b");
    expect(map.get("local", "brief")).toBe("a");
    expect(map.get("123456789012345678", "brief")).toBe("b");
    expect(map.has("local", "other")).toBe(false);
    expect(map.has("999999999999999999", "brief")).toBe(false);

    map.delete("local", "brief");
    map.delete("local", "never-there");
    expect(map.has("local", "brief")).toBe(false);
    expect(map.get("123456789012345678", "brief")).toBe("b");
    expect([...map.values()]).toEqual(["b"]);

    map.set("local", "x", "c");
    expect([...map.values()].sort()).toEqual(["b", "c"]);
    map.clear();
    expect([...map.values()]).toEqual([]);
  });
});
