import { describe, expect, it } from "vitest";
import { ByTask } from "../src/tasks/by-task.ts";

describe("ByTask", () => {
  it("keeps one value per tenant and task id: the same id in two tenants is two entries", () => {
    const map = new ByTask<string>();
    map.set("local", "brief", "a");
    map.set("123456789012345678", "brief", "b");
    expect(map.get("local", "brief")).toBe("a");
    expect(map.get("123456789012345678", "brief")).toBe("b");
    expect(map.get("local", "other")).toBeUndefined();
    expect(map.get("999999999999999999", "brief")).toBeUndefined();
    expect(map.size).toBe(2);

    map.delete("local", "brief");
    map.delete("local", "never-there");
    expect(map.get("local", "brief")).toBeUndefined();
    expect(map.get("123456789012345678", "brief")).toBe("b");
    expect([...map.values()]).toEqual(["b"]);
    expect(map.size).toBe(1);

    map.set("local", "x", "c");
    expect([...map.values()].sort()).toEqual(["b", "c"]);
    map.clear();
    expect([...map.values()]).toEqual([]);
    expect(map.size).toBe(0);
  });
});
