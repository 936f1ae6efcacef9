/**
 * Writes a set of key files all-or-nothing. Every target is checked before the first byte is
 * written; each file is written to a temp file in the same folder (O_EXCL, final mode from the
 * start, fsync) and then moved into place. Without --force the move is link()+unlink(), which
 * fails instead of replacing a file that appeared after the check. If a later move fails, the
 * files already moved are removed so no half pair remains.
 */
import { randomBytes } from "node:crypto";
import { constants, promises as fs } from "node:fs";
import { basename, dirname, join } from "node:path";
import { RsagenError } from "../errors.js";

export interface FileToWrite {
  path: string;
  data: Uint8Array;
  /** 0o600 for private keys, 0o644 for public ones. */
  mode: number;
}

export interface WriteOptions {
  force: boolean;
}

function ioError(what: string, path: string, err: unknown): RsagenError {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const hint =
    code === "EACCES" || code === "EPERM"
      ? "choose a folder you can write to with --out"
      : code === "ENOSPC"
        ? "free some disk space"
        : "check the --out folder";
  return new RsagenError("E_IO", `cannot ${what} ${path}: ${(err as Error).message}`, hint, { cause: err });
}

function existsError(path: string): RsagenError {
  return new RsagenError(
    "E_OUTPUT_EXISTS",
    `${path} already exists; nothing was written`,
    "pass --force to overwrite, or pick another --out / --prefix",
  );
}

async function checkTarget(path: string, force: boolean): Promise<void> {
  let st: Awaited<ReturnType<typeof fs.lstat>>;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw ioError("check", path, err);
  }
  if (!force) throw existsError(path);
  if (st.isDirectory()) {
    throw new RsagenError("E_IO", `${path} is a folder`, "pick another --prefix");
  }
}

async function writeTemp(file: FileToWrite): Promise<string> {
  const tmp = join(dirname(file.path), `.${basename(file.path)}.${randomBytes(6).toString("hex")}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, file.mode);
    // The umask may have cleared bits of a public key's 0644; set the exact mode explicitly.
    await handle.chmod(file.mode);
    await handle.writeFile(file.data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    return tmp;
  } catch (err) {
    await handle?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw ioError("write", tmp, err);
  }
}

async function moveIntoPlace(tmp: string, path: string, force: boolean): Promise<void> {
  if (force) {
    await fs.rename(tmp, path);
    return;
  }
  try {
    await fs.link(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw existsError(path);
    // Filesystems without hard links: fall back to a re-check and rename.
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw err;
    await checkTarget(path, false);
    await fs.rename(tmp, path);
    return;
  }
  await fs.unlink(tmp);
}

/** Fails with E_OUTPUT_EXISTS if any target exists (unless force): run before a long job. */
export async function assertTargetsFree(paths: string[], force: boolean): Promise<void> {
  for (const p of paths) await checkTarget(p, force);
}

/** Lets tests reproduce a race (another process creating a target between check and move). */
export interface WriteHooks {
  beforeMove?: (index: number) => Promise<void> | void;
}

export async function writeFilesAtomically(
  files: FileToWrite[],
  opts: WriteOptions,
  hooks: WriteHooks = {},
): Promise<void> {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new RsagenError("E_USAGE", `two outputs share the path ${f.path}`);
    seen.add(f.path);
  }
  for (const f of files)
    await fs.mkdir(dirname(f.path), { recursive: true }).catch((e) => {
      throw ioError("create folder", dirname(f.path), e);
    });
  for (const f of files) await checkTarget(f.path, opts.force);

  const temps: string[] = [];
  const placed: string[] = [];
  try {
    // Written side by side: the fsyncs overlap (this is on the done -> files critical path).
    const written = await Promise.allSettled(files.map((f) => writeTemp(f)));
    for (const w of written) if (w.status === "fulfilled") temps.push(w.value);
    const failed = written.find((w) => w.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    for (const [i, f] of files.entries()) {
      await hooks.beforeMove?.(i);
      try {
        await moveIntoPlace(temps[i]!, f.path, opts.force);
      } catch (err) {
        if (err instanceof RsagenError) throw err;
        throw ioError("move into place", f.path, err);
      }
      placed.push(f.path);
    }
  } catch (err) {
    for (const p of placed) await fs.rm(p, { force: true }).catch(() => {});
    for (const t of temps) await fs.rm(t, { force: true }).catch(() => {});
    throw err;
  }
  // Make the renames durable (best effort: not every platform can fsync a folder).
  for (const dir of new Set(files.map((f) => dirname(f.path)))) {
    const h = await fs.open(dir, "r").catch(() => undefined);
    await h?.sync().catch(() => {});
    await h?.close().catch(() => {});
  }
}
