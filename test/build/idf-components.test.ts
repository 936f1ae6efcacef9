/**
 * ESP-IDF component wiring of firmware/: every header an ESP-IDF-built source includes must come
 * from a component it may see (its REQUIRES / PRIV_REQUIRES, the common requirements every component
 * gets, or what a required project component exposes publicly), and a header included from a public
 * header needs a public REQUIRES, since dependants compile it too. `main` sets no requirements, so
 * ESP-IDF links it with every component of the build (tools/cmake/project.cmake, v5.1..v5.5).
 *
 * The header table below names where each ESP-IDF header lives; the CI part checks our CMakeLists
 * against it. With RSAGEN_IDF_SRC (an ESP-IDF v5.x tree, see idf-kconfig.test.ts) the table itself,
 * the named components and the few ESP-IDF symbols the firmware relies on are checked in the tree.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { TARGET_NAMES, type TargetName } from "../../src/targets.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FW = join(ROOT, "firmware");
const IDF = process.env.RSAGEN_IDF_SRC;

type Version = [number, number];
const atLeast = (v: Version, w: Version) => v[0] > w[0] || (v[0] === w[0] && v[1] >= w[1]);

/**
 * ESP-IDF's common requirements: every component requires these (tools/cmake/build.cmake,
 * `requires_common`, identical from v5.1 to v5.5.5), plus the CPU architecture component.
 */
const COMMON = [
  "cxx",
  "newlib",
  "freertos",
  "esp_hw_support",
  "heap",
  "log",
  "soc",
  "hal",
  "esp_rom",
  "esp_common",
  "esp_system",
];

interface HeaderSource {
  component: string;
  /** Path under components/; <target> is replaced per target, <include|register> by either. */
  path: string;
  /** ESP-IDF versions (major, minor) from which / before which this is where the header is. */
  since?: Version;
  before?: Version;
  /** Targets whose firmware includes it (all when absent). */
  targets?: readonly TargetName[];
  /** ESP-IDF identifiers our code uses from it, checked to be defined in the file. */
  uses?: string[];
}

/** Every ESP-IDF header a firmware source includes, with where it lives. "(build)": generated. */
const IDF_HEADERS: Record<string, HeaderSource[]> = {
  "sdkconfig.h": [{ component: "(build)", path: "" }],
  "esp_app_desc.h": [
    {
      component: "esp_app_format",
      path: "esp_app_format/include/esp_app_desc.h",
      uses: ["esp_app_get_description"],
    },
  ],
  "esp_idf_version.h": [
    {
      component: "esp_common",
      path: "esp_common/include/esp_idf_version.h",
      uses: ["ESP_IDF_VERSION_VAL", "esp_get_idf_version"],
    },
  ],
  "esp_system.h": [
    { component: "esp_system", path: "esp_system/include/esp_system.h", uses: ["esp_restart"] },
  ],
  "freertos/FreeRTOS.h": [
    { component: "freertos", path: "freertos/FreeRTOS-Kernel/include/freertos/FreeRTOS.h" },
  ],
  "freertos/task.h": [
    { component: "freertos", path: "freertos/FreeRTOS-Kernel/include/freertos/task.h", uses: ["vTaskDelay"] },
  ],
  "freertos/semphr.h": [
    { component: "freertos", path: "freertos/FreeRTOS-Kernel/include/freertos/semphr.h" },
  ],
  "soc/soc.h": [{ component: "soc", path: "soc/<target>/include/soc/soc.h", uses: ["REG_WRITE"] }],
  // Register headers moved from soc/<target>/include to soc/<target>/register during v5.4.x; both
  // are soc include dirs (soc/CMakeLists.txt adds register/ when it exists).
  "soc/rtc_cntl_reg.h": [
    {
      component: "soc",
      path: "soc/<target>/<include|register>/soc/rtc_cntl_reg.h",
      targets: ["esp32s2", "esp32s3", "esp32c3"],
      uses: ["RTC_CNTL_OPTION1_REG", "RTC_CNTL_FORCE_DOWNLOAD_BOOT"],
    },
  ],
  "soc/lp_aon_reg.h": [
    {
      component: "soc",
      path: "soc/<target>/<include|register>/soc/lp_aon_reg.h",
      targets: ["esp32c6"],
      uses: ["LP_AON_SYS_CFG_REG", "LP_AON_FORCE_DOWNLOAD_BOOT"],
    },
  ],
  "driver/uart.h": [
    {
      component: "driver",
      path: "driver/uart/include/driver/uart.h",
      before: [5, 3],
      uses: ["uart_wait_tx_done", "uart_driver_install"],
    },
    {
      component: "esp_driver_uart",
      path: "esp_driver_uart/include/driver/uart.h",
      since: [5, 3],
      uses: ["uart_wait_tx_done", "uart_driver_install"],
    },
  ],
  // console_esp.c includes it only from v5.3 (ESP_IDF_VERSION >= 5.3.0), esp_vfs_dev.h before.
  "driver/uart_vfs.h": [
    {
      component: "esp_driver_uart",
      path: "esp_driver_uart/include/driver/uart_vfs.h",
      since: [5, 3],
      uses: ["uart_vfs_dev_use_driver"],
    },
  ],
  "esp_vfs_dev.h": [
    {
      component: "vfs",
      path: "vfs/include/esp_vfs_dev.h",
      before: [5, 3],
      uses: ["esp_vfs_dev_uart_use_driver"],
    },
  ],
  "bootloader_random.h": [
    {
      component: "bootloader_support",
      path: "bootloader_support/include/bootloader_random.h",
      uses: ["bootloader_random_enable", "bootloader_random_disable"],
    },
  ],
  "esp_heap_caps.h": [
    { component: "heap", path: "heap/include/esp_heap_caps.h", uses: ["heap_caps_get_largest_free_block"] },
  ],
  "esp_log.h": [{ component: "log", path: "log/include/esp_log.h" }],
  "esp_random.h": [
    { component: "esp_hw_support", path: "esp_hw_support/include/esp_random.h", uses: ["esp_fill_random"] },
  ],
  "esp_task_wdt.h": [
    {
      component: "esp_system",
      path: "esp_system/include/esp_task_wdt.h",
      uses: [
        "esp_task_wdt_init",
        "esp_task_wdt_config_t",
        "esp_task_wdt_add_user",
        "esp_task_wdt_reset_user",
        "esp_task_wdt_delete_user",
        "esp_task_wdt_user_handle_t",
      ],
    },
  ],
  "esp_freertos_hooks.h": [
    {
      component: "esp_system",
      path: "esp_system/include/esp_freertos_hooks.h",
      uses: [
        "esp_register_freertos_idle_hook_for_cpu",
        "esp_register_freertos_tick_hook_for_cpu",
        "esp_deregister_freertos_idle_hook_for_cpu",
        "esp_deregister_freertos_tick_hook_for_cpu",
      ],
    },
  ],
  "esp_attr.h": [{ component: "esp_common", path: "esp_common/include/esp_attr.h", uses: ["IRAM_ATTR"] }],
  "esp_timer.h": [
    { component: "esp_timer", path: "esp_timer/include/esp_timer.h", uses: ["esp_timer_get_time"] },
  ],
  // Mbed TLS lives in a git submodule (components/mbedtls/mbedtls); its headers are not in an
  // archive of the ESP-IDF repository, so only the component is checked.
  "mbedtls/version.h": [{ component: "mbedtls", path: "mbedtls/CMakeLists.txt" }],
  "mbedtls/ctr_drbg.h": [{ component: "mbedtls", path: "mbedtls/CMakeLists.txt" }],
  "mbedtls/pk.h": [{ component: "mbedtls", path: "mbedtls/CMakeLists.txt" }],
  "mbedtls/platform_util.h": [{ component: "mbedtls", path: "mbedtls/CMakeLists.txt" }],
  "mbedtls/rsa.h": [{ component: "mbedtls", path: "mbedtls/CMakeLists.txt" }],
  "mbedtls/sha256.h": [{ component: "mbedtls", path: "mbedtls/CMakeLists.txt" }],
  "mbedtls/x509_csr.h": [{ component: "mbedtls", path: "mbedtls/CMakeLists.txt" }],
  "mbedtls/asn1write.h": [{ component: "mbedtls", path: "mbedtls/CMakeLists.txt" }],
  "mbedtls/oid.h": [{ component: "mbedtls", path: "mbedtls/CMakeLists.txt" }],
  // The key partition (firmware/components/rsagen_os/flash_esp.c).
  "esp_partition.h": [
    {
      component: "esp_partition",
      path: "esp_partition/include/esp_partition.h",
      uses: [
        "esp_partition_find_first",
        "esp_partition_read",
        "esp_partition_read_raw",
        "esp_partition_write",
        "esp_partition_write_raw",
        "esp_partition_erase_range",
      ],
    },
  ],
  "esp_flash_encrypt.h": [
    {
      component: "bootloader_support",
      path: "bootloader_support/include/esp_flash_encrypt.h",
      uses: ["esp_flash_encryption_enabled"],
    },
  ],
  "esp_secure_boot.h": [
    {
      component: "bootloader_support",
      path: "bootloader_support/include/esp_secure_boot.h",
      uses: ["esp_secure_boot_enabled"],
    },
  ],
};

interface Component {
  name: string;
  dir: string;
  /** Sources compiled under ESP-IDF (quoted *.c names in the CMakeLists). */
  srcs: string[];
  requires: string[];
  privRequires: string[];
  /** Folders of its INCLUDE_DIRS (public headers). */
  includeDirs: string[];
}

/** Words after `keyword` in an idf_component_register call, up to the next keyword. */
function argList(call: string, keyword: string): string[] {
  const keywords =
    /^(SRCS|SRC_DIRS|EXCLUDE_SRCS|INCLUDE_DIRS|PRIV_INCLUDE_DIRS|REQUIRES|PRIV_REQUIRES|LDFRAGMENTS|EMBED_FILES|EMBED_TXTFILES|KCONFIG|KCONFIG_PROJBUILD|WHOLE_ARCHIVE)$/;
  const words = call.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  let on = false;
  for (const w of words) {
    if (keywords.test(w)) on = w === keyword;
    else if (on) out.push(w.replace(/^"|"$/g, ""));
  }
  return out;
}

function readComponent(dir: string): Component {
  const text = readFileSync(join(dir, "CMakeLists.txt"), "utf8").replace(/#.*$/gm, "");
  const m = /idf_component_register\(([\s\S]*?)\)/.exec(text);
  if (!m) throw new Error(`${dir}/CMakeLists.txt: no idf_component_register`);
  const call = m[1]!;
  return {
    name: dir.endsWith("/main") ? "main" : dir.split("/").pop()!,
    dir,
    srcs: [...text.matchAll(/"([A-Za-z0-9_./-]+\.c)"/g)].map((x) => x[1]!),
    requires: argList(call, "REQUIRES"),
    privRequires: argList(call, "PRIV_REQUIRES"),
    includeDirs: argList(call, "INCLUDE_DIRS").map((d) => join(dir, d)),
  };
}

const COMPONENTS: Component[] = [
  ...readdirSync(join(FW, "components")).map((d) => readComponent(join(FW, "components", d))),
  readComponent(join(FW, "main")),
];

/** Quoted includes of a file (conditional ones included: every branch must be satisfiable). */
function includes(file: string): string[] {
  return [...readFileSync(file, "utf8").matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)].map((x) => x[1]!);
}

/** The project component whose public include dirs (or, for its own sources, own dir) hold `h`. */
function projectHeader(h: string, from: Component): { comp: Component; file: string } | undefined {
  for (const dir of [from.dir, ...from.includeDirs])
    if (existsSync(join(dir, h))) return { comp: from, file: join(dir, h) };
  for (const c of COMPONENTS)
    for (const dir of c.includeDirs) if (existsSync(join(dir, h))) return { comp: c, file: join(dir, h) };
  return undefined;
}

/**
 * Public REQUIRES of ESP-IDF components the firmware requires, where they matter for what it
 * includes: `driver` is the UART driver itself before v5.3 and publicly requires esp_driver_uart
 * (and the other esp_driver_* split out of it) from v5.3 on (components/driver/CMakeLists.txt).
 * Checked in the tree with RSAGEN_IDF_SRC.
 */
const IDF_PUBLIC_REQUIRES: Record<string, { requires: string[]; since: Version }> = {
  driver: { requires: ["esp_driver_uart"], since: [5, 3] },
};

/** Components `c` may include from: common, its requirements, public requirements of those, recursively. */
function visible(c: Component): Set<string> | "all" {
  if (c.name === "main" && c.requires.length === 0 && c.privRequires.length === 0) return "all";
  const seen = new Set<string>(["(build)", ...COMMON, c.name]);
  const queue = [...c.requires, ...c.privRequires];
  while (queue.length) {
    const n = queue.shift()!;
    if (seen.has(n)) continue;
    seen.add(n);
    const proj = COMPONENTS.find((x) => x.name === n);
    if (proj) queue.push(...proj.requires);
    const idf = IDF_PUBLIC_REQUIRES[n];
    if (idf) queue.push(...idf.requires);
  }
  return seen;
}

/** Public view: what a dependant of `c` gets through c's public headers (common + public REQUIRES). */
function publicVisible(c: Component): Set<string> {
  const seen = new Set<string>(["(build)", ...COMMON, c.name]);
  const queue = [...c.requires];
  while (queue.length) {
    const n = queue.shift()!;
    if (seen.has(n)) continue;
    seen.add(n);
    const proj = COMPONENTS.find((x) => x.name === n);
    if (proj) queue.push(...proj.requires);
  }
  return seen;
}

interface Use {
  comp: Component;
  file: string;
  header: string;
  /** Included (directly or through project headers) from one of the component's public headers. */
  fromPublic: boolean;
}

/** Every ESP-IDF header reached from a component's ESP-IDF sources and public headers. */
function idfUses(c: Component): Use[] {
  const uses: Use[] = [];
  const done = new Set<string>();
  const walk = (file: string, owner: Component, fromPublic: boolean) => {
    const key = `${file}|${fromPublic}`;
    if (done.has(key)) return;
    done.add(key);
    for (const h of includes(file)) {
      const p = projectHeader(h, owner);
      if (p) {
        const isPublic = p.comp.includeDirs.some((d) => p.file.startsWith(`${d}/`));
        walk(p.file, p.comp, fromPublic || (p.comp === c && isPublic));
      } else uses.push({ comp: owner, file, header: h, fromPublic });
    }
  };
  for (const s of c.srcs) walk(join(c.dir, s), c, false);
  for (const d of c.includeDirs)
    for (const f of readdirSync(d).filter((x) => x.endsWith(".h"))) walk(join(d, f), c, true);
  return uses;
}

describe("firmware components: includes are covered by REQUIRES", () => {
  it("finds the six components and their ESP-IDF sources", () => {
    expect(COMPONENTS.map((c) => c.name).sort()).toEqual([
      "main",
      "rsagen_keygen",
      "rsagen_os",
      "rsagen_proto",
      "rsagen_slotjobs",
      "rsagen_slots",
    ]);
    const byName = Object.fromEntries(COMPONENTS.map((c) => [c.name, c]));
    expect(byName.rsagen_os!.srcs).toEqual(["os_esp.c", "flash_esp.c"]);
    expect(byName.rsagen_keygen!.srcs).toEqual(["keygen_job.c"]);
    expect(byName.rsagen_slots!.srcs).toEqual(["rsagen_slots.c"]);
    expect(byName.rsagen_slotjobs!.srcs.sort()).toEqual(["csr_job.c", "sign_job.c", "slot_job.c"]);
    expect(byName.main!.srcs.sort()).toEqual([
      "cmd_loop.c",
      "console_esp.c",
      "handlers.c",
      "main_esp.c",
      "slot_handlers.c",
    ]);
  });

  for (const c of COMPONENTS) {
    it(`${c.name}: every ESP-IDF header is listed and visible`, () => {
      const problems: string[] = [];
      const vis = visible(c);
      const pub = publicVisible(c);
      const uses = idfUses(c);
      // The protocol codec and the slot store are plain C (libc, and the OS layer's flash interface,
      // which is plain C too); everything else uses ESP-IDF.
      expect(uses.length > 0).toBe(c.name !== "rsagen_proto" && c.name !== "rsagen_slots");
      for (const u of uses) {
        const sources = IDF_HEADERS[u.header];
        if (!sources) {
          problems.push(`${u.file}: "${u.header}" is neither a project header nor in IDF_HEADERS`);
          continue;
        }
        for (const s of sources) {
          if (u.fromPublic && !pub.has(s.component))
            problems.push(
              `${u.file}: public header needs "${u.header}" from ${s.component}: add it to ${c.name}'s REQUIRES`,
            );
          else if (vis !== "all" && !vis.has(s.component))
            problems.push(`${u.file}: "${u.header}" is in ${s.component}, which ${c.name} does not require`);
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it("the check fails for a header from a component not required (negative control)", () => {
    const os = COMPONENTS.find((c) => c.name === "rsagen_os")!;
    const stripped: Component = { ...os, privRequires: os.privRequires.filter((r) => r !== "esp_timer") };
    const vis = visible(stripped);
    expect(vis !== "all" && vis.has("esp_timer")).toBe(false);
    expect(idfUses(os).some((u) => u.header === "esp_timer.h")).toBe(true);
    // mbedtls is reached from rsagen_keygen's public header, so a PRIV_REQUIRES would not do.
    const kg = COMPONENTS.find((c) => c.name === "rsagen_keygen")!;
    const priv: Component = {
      ...kg,
      requires: kg.requires.filter((r) => r !== "mbedtls"),
      privRequires: [...kg.privRequires, "mbedtls"],
    };
    expect(idfUses(kg).some((u) => u.fromPublic && u.header.startsWith("mbedtls/"))).toBe(true);
    expect(publicVisible(priv).has("mbedtls")).toBe(false);
  });
});

function idfVersion(idf: string): Version {
  const t = readFileSync(join(idf, "tools/cmake/version.cmake"), "utf8");
  const get = (k: string) => Number(new RegExp(`IDF_VERSION_${k}\\s+(\\d+)`).exec(t)![1]);
  return [get("MAJOR"), get("MINOR")];
}

describe.skipIf(!IDF)("firmware components against ESP-IDF sources (RSAGEN_IDF_SRC)", () => {
  it("every component named in REQUIRES/PRIV_REQUIRES exists", () => {
    const missing: string[] = [];
    for (const c of COMPONENTS)
      for (const r of [...c.requires, ...c.privRequires]) {
        if (COMPONENTS.some((x) => x.name === r)) continue;
        if (!existsSync(join(IDF!, "components", r, "CMakeLists.txt"))) missing.push(`${c.name}: ${r}`);
      }
    for (const r of COMMON)
      if (!existsSync(join(IDF!, "components", r, "CMakeLists.txt"))) missing.push(`common: ${r}`);
    expect(missing).toEqual([]);
  });

  it("ESP-IDF components publicly require what IDF_PUBLIC_REQUIRES says", () => {
    const v = idfVersion(IDF!);
    const problems: string[] = [];
    for (const [name, { requires, since }] of Object.entries(IDF_PUBLIC_REQUIRES)) {
      if (!atLeast(v, since)) continue;
      // The nearest argument keyword before the name must be REQUIRES (not PRIV_REQUIRES): the
      // component's register call spans conditionals, so it is read as text.
      const text = readFileSync(join(IDF!, "components", name, "CMakeLists.txt"), "utf8").replace(
        /#.*$/gm,
        "",
      );
      for (const r of requires) {
        const at = text.search(new RegExp(`\\b${r}\\b`));
        const keywords = [
          ...text
            .slice(0, Math.max(at, 0))
            .matchAll(/\b(PRIV_REQUIRES|REQUIRES|SRCS|INCLUDE_DIRS|PRIV_INCLUDE_DIRS|LDFRAGMENTS)\b/g),
        ];
        if (at < 0 || keywords.at(-1)?.[1] !== "REQUIRES") problems.push(`${name} does not REQUIRE ${r}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("every header is where IDF_HEADERS says, with the identifiers the firmware uses", () => {
    const v = idfVersion(IDF!);
    const problems: string[] = [];
    for (const [header, sources] of Object.entries(IDF_HEADERS)) {
      let applicable = 0;
      for (const s of sources) {
        if (s.component === "(build)") continue;
        if ((s.since && !atLeast(v, s.since)) || (s.before && atLeast(v, s.before))) continue;
        applicable++;
        for (const target of s.targets ?? TARGET_NAMES) {
          const candidates = ["include", "register"].map((d) =>
            join(IDF!, "components", s.path.replace("<target>", target).replace("<include|register>", d)),
          );
          const file = candidates.find((f) => existsSync(f)) ?? candidates[0]!;
          if (!existsSync(file)) {
            problems.push(`${header}: ${file} missing`);
            continue;
          }
          const text = readFileSync(file, "utf8");
          for (const id of s.uses ?? [])
            if (!new RegExp(`\\b${id}\\b`).test(text)) problems.push(`${header}: ${id} not in ${file}`);
        }
      }
      // A header that only exists from some version on must be included conditionally.
      if (
        applicable === 0 &&
        header !== "sdkconfig.h" &&
        !["driver/uart_vfs.h", "esp_vfs_dev.h"].includes(header)
      )
        problems.push(`${header}: no location for ESP-IDF ${v.join(".")}`);
    }
    expect(problems).toEqual([]);
  });
});
