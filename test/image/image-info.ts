/** Reads what esptool v5.3.0 `image-info` printed (test/vectors/images/*.info*.txt). */

export interface InfoSegment {
  index: number;
  length: number;
  loadAddr: number;
  fileOffset: number;
  memoryTypes: string[];
}

export interface ImageInfo {
  /** From the "<CHIP> Image Header" title, e.g. "ESP32-C3". */
  chipTitle: string;
  warnings: string[];
  imageSize: number;
  entry: number;
  segmentCount: number;
  flashSize: string;
  flashFreq: string;
  flashMode: string;
  wpPin: number;
  drive: Record<string, number>;
  chipId: number;
  minRev: string;
  legacyMinRev: number;
  maxRev: string;
  segments: InfoSegment[];
  checksum: number;
  checksumValid: boolean;
  checksumCalculated?: number;
  hash?: string;
  hashValid?: boolean;
  app?: Record<string, string>;
  bootloader?: Record<string, string>;
}

function field(lines: string[], key: string): string | undefined {
  const line = lines.find((l) => l.startsWith(`${key}: `));
  return line?.slice(key.length + 2);
}

function must(lines: string[], key: string): string {
  const v = field(lines, key);
  if (v === undefined) throw new Error(`image-info output has no "${key}" line`);
  return v;
}

function section(lines: string[], title: string): string[] {
  const i = lines.indexOf(title);
  if (i < 0) return [];
  const rest = lines.slice(i + 2);
  const end = rest.indexOf("");
  return end < 0 ? rest : rest.slice(0, end);
}

export function parseImageInfo(textIn: string): ImageInfo {
  const lines = textIn.split("\n");
  const titleLine = lines.find((l) => / Image Header$/.test(l) && !l.includes("Extended"));
  if (!titleLine) throw new Error("no image header title");
  const chipTitle = titleLine.replace(/ Image Header$/, "");
  const drive: Record<string, number> = {};
  for (const m of must(lines, "Flash pins drive settings").matchAll(/(\w+): 0x([0-9a-f]+)/g)) {
    drive[m[1]!] = Number.parseInt(m[2]!, 16);
  }
  const minRevLine = must(lines, "Minimal chip revision");
  const [, minRev, legacy] = /^(v\d+\.\d+), \(legacy min_rev = (\d+)\)$/.exec(minRevLine)!;
  const segments: InfoSegment[] = [];
  for (const l of lines) {
    const m = /^\s+(\d+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.+)$/.exec(l);
    if (m) {
      segments.push({
        index: Number(m[1]),
        length: Number.parseInt(m[2]!, 16),
        loadAddr: Number.parseInt(m[3]!, 16),
        fileOffset: Number.parseInt(m[4]!, 16),
        memoryTypes: m[5]!.split(", "),
      });
    }
  }
  const ck = /^0x([0-9a-f]+) \((valid|invalid - calculated 0x([0-9a-f]+))\)$/.exec(must(lines, "Checksum"))!;
  const hashLine = field(lines, "Validation hash");
  const hash = hashLine ? /^([0-9a-f]{64}) \((valid|invalid)\)$/.exec(hashLine) : null;
  const kv = (ls: string[]) =>
    Object.fromEntries(ls.map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]));
  const app = section(lines, "Application Information");
  const boot = section(lines, "Bootloader Information");
  const entryText = must(lines, "Entry point");
  return {
    chipTitle,
    warnings: lines
      .filter((l) => l.startsWith("Warning: ") && !l.includes("DEPRECATED"))
      .map((l) => l.slice(9)),
    imageSize: Number(/^(\d+) bytes$/.exec(must(lines, "Image size"))![1]),
    entry: Number.parseInt(entryText, 16),
    segmentCount: Number(must(lines, "Segments")),
    flashSize: must(lines, "Flash size"),
    flashFreq: must(lines, "Flash freq"),
    flashMode: must(lines, "Flash mode"),
    wpPin: Number.parseInt(must(lines, "WP pin"), 16),
    drive,
    chipId: Number(/^(\d+)/.exec(must(lines, "Chip ID"))![1]),
    minRev: minRev!,
    legacyMinRev: Number(legacy),
    maxRev: must(lines, "Maximal chip revision"),
    segments,
    checksum: Number.parseInt(ck[1]!, 16),
    checksumValid: ck[2] === "valid",
    ...(ck[3] ? { checksumCalculated: Number.parseInt(ck[3], 16) } : {}),
    ...(hash ? { hash: hash[1]!, hashValid: hash[2] === "valid" } : {}),
    ...(app.length ? { app: kv(app) } : {}),
    ...(boot.length ? { bootloader: kv(boot) } : {}),
  };
}
