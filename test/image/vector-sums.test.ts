/** The copied vector files are the ones the shared set's SHA256SUMS describe (nothing edited). */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const VECTORS = join(import.meta.dirname, "../vectors");

describe.each(["images", "partitions"])("test/vectors/%s", (dir) => {
  const lines = readFileSync(join(VECTORS, dir, "SHA256SUMS"), "utf8")
    .trim()
    .split("\n");

  it("lists every copied file", () => {
    expect(lines.length).toBeGreaterThan(30);
  });

  it.each(lines.map((l) => l.split(/ {2}/) as [string, string]))("%s %s", (sum, file) => {
    const actual = createHash("sha256")
      .update(readFileSync(join(VECTORS, dir, file)))
      .digest("hex");
    expect(actual).toBe(sum);
  });
});
