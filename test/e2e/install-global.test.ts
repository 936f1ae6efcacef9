/**
 * Installed as a user installs it: `npm pack`, then `npm install -g` of the tarball into a prefix,
 * and the installed `rsagen` run from an unrelated folder. Build output goes to that folder's
 * ./build, never into the installed package (which a system-wide install cannot write and every
 * user shares), and `rsagen flash` finds it there.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/run-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "rsagen-install-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, timeout = 300_000) {
  const env = { ...process.env };
  delete env.ESPPORT;
  delete env.ESPBAUD;
  delete env.npm_config_prefix;
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
}

describe("npm install -g of the packed package", () => {
  it("installs, runs from any folder, and builds into that folder's ./build", () => {
    const pack = run("npm", ["pack", "--pack-destination", tmp, "--ignore-scripts"], REPO_ROOT);
    expect(pack.status, pack.out).toBe(0);
    const tarball = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBeTruthy();
    const prefix = join(tmp, "prefix");
    const inst = run(
      "npm",
      [
        "install",
        "-g",
        "--prefix",
        prefix,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        join(tmp, tarball!),
      ],
      tmp,
    );
    expect(inst.status, inst.out).toBe(0);
    const bin = join(prefix, "bin", "rsagen");
    const pkg = join(prefix, "lib", "node_modules", "rsagen");
    const user = join(tmp, "user");
    mkdirSync(user);

    const v = run(bin, ["--version"], user);
    expect(v.status, v.out).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);

    const b = run(bin, ["--json", "build", "--host", "--target", "esp32c3"], user);
    expect(b.status, b.out).toBe(0);
    const result = JSON.parse(b.stdout.trim().split("\n").at(-1)!) as { result: { dir: string } };
    expect(result.result.dir).toBe(join(user, "build", "esp32c3-host-cx"));
    expect(existsSync(join(result.result.dir, "rsagen.json"))).toBe(true);
    expect(existsSync(join(pkg, "build"))).toBe(false);

    // rsagen flash finds that build in ./build (it then fails at the port, which does not exist).
    const f = run(bin, ["--json", "flash", "--port", "rfc2217://127.0.0.1:1"], user);
    expect(f.stdout).not.toMatch(/E_NO_MANIFEST/);
    expect(f.stdout).toMatch(/"code":"E_NO_PORT","message":"cannot connect to rfc2217:\/\/127.0.0.1:1/);
  }, 600_000);
});
