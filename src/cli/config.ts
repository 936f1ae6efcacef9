/**
 * Global settings: command line beats environment (ESPPORT, ESPBAUD, as idf.py reads them)
 * beats the project config file (rsagen.config.json).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { RsagenError } from "../errors.js";
import { baudSchema, type ConfigFile, configFileSchema, parseOption, portSchema } from "./options.js";

export const CONFIG_FILE_NAME = "rsagen.config.json";

export interface GlobalOptions {
  port?: string | undefined;
  baud?: string | number | undefined;
  json?: boolean | undefined;
  verbose?: boolean | undefined;
  quiet?: boolean | undefined;
  config?: string | undefined;
}

export interface Settings {
  port: string | undefined;
  portSource: "cli" | "env" | "config" | "none";
  baud: number | undefined;
  baudSource: "cli" | "env" | "config" | "none";
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  config: ConfigFile;
  configPath: string | undefined;
}

export function loadConfigFile(path: string | undefined, cwd: string): { config: ConfigFile; path?: string } {
  const explicit = path !== undefined;
  const file = resolve(cwd, path ?? CONFIG_FILE_NAME);
  if (!existsSync(file)) {
    if (explicit)
      throw new RsagenError("E_CONFIG", `config file not found: ${file}`, "check the --config path");
    return { config: {} };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new RsagenError(
      "E_CONFIG",
      `${file}: not valid JSON (${(err as Error).message})`,
      "fix the JSON syntax",
    );
  }
  const r = configFileSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new RsagenError(
      "E_CONFIG",
      `${file}: ${where}: ${issue?.message ?? "invalid"}`,
      "see README.md, section 'Configuration file', for the keys it accepts",
    );
  }
  return { config: r.data, path: file };
}

export function resolveSettings(
  opts: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Settings {
  const { config, path } = loadConfigFile(opts.config, cwd);
  let port: string | undefined;
  let portSource: Settings["portSource"] = "none";
  if (opts.port !== undefined) {
    port = parseOption(portSchema, opts.port, "--port");
    portSource = "cli";
  } else if (env.ESPPORT) {
    port = parseOption(portSchema, env.ESPPORT, "ESPPORT");
    portSource = "env";
  } else if (config.port !== undefined) {
    port = config.port;
    portSource = "config";
  }
  let baud: number | undefined;
  let baudSource: Settings["baudSource"] = "none";
  if (opts.baud !== undefined) {
    baud = parseOption(baudSchema, opts.baud, "--baud");
    baudSource = "cli";
  } else if (env.ESPBAUD) {
    baud = parseOption(baudSchema, env.ESPBAUD, "ESPBAUD", "set ESPBAUD to a rate such as 460800");
    baudSource = "env";
  } else if (config.baud !== undefined) {
    baud = config.baud;
    baudSource = "config";
  }
  return {
    port,
    portSource,
    baud,
    baudSource,
    json: Boolean(opts.json),
    verbose: Boolean(opts.verbose),
    quiet: Boolean(opts.quiet),
    config,
    configPath: path,
  };
}
