/*
 * rsagen-fw: the firmware's command loop built for the host (contract C2). The virtual board runs it
 * with the console on stdin/stdout.
 *
 *   rsagen-fw --target <esp32|esp32s2|esp32s3|esp32c3|esp32c6> [--wdt-ms N] [--heap-bytes N]
 *             [--reset-reason N]
 *   env RSAGEN_FW_SEED=<string>: deterministic entropy for benchmarks (host only).
 *
 * Exit status: 0 stdin closed, 2 bad arguments, 3 reboot requested, 4 reboot into download mode,
 * 5 task watchdog fired (report printed first), 6 panic/abort.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "console.h"
#include "mbedtls/version.h"
#include "os_posix.h"
#include "platform.h"
#include "rsagen_os.h"

#ifndef RSAGEN_FW_VERSION
#define RSAGEN_FW_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2
#define DEFAULT_WDT_MS 5000u /* CONFIG_ESP_TASK_WDT_TIMEOUT_S default, 5 s */

static const char *s_target;
static uint32_t s_reset_reason = 1; /* ESP_RST_POWERON */

static const struct {
    const char *name;
    int cores;
    bool download_reboot;
} TARGETS[] = {
    /* Cores: esp32 and esp32s3 are dual-core; s2, c3, c6 select FREERTOS_UNICORE (IDF@v5.5.5 Kconfig).
     * Download reboot: s2/s3/c3 set RTC_CNTL_FORCE_DOWNLOAD_BOOT, c6 LP_AON_FORCE_DOWNLOAD_BOOT
     * (IDF@v5.5.5 soc register headers); the esp32 has no such bit. */
    {"esp32", 2, false},  {"esp32s2", 1, true}, {"esp32s3", 2, true},
    {"esp32c3", 1, true}, {"esp32c6", 1, true},
};

static int s_target_index = -1;

const char *rsagen_platform_target(void) { return s_target; }
const char *rsagen_platform_fw_version(void) { return RSAGEN_FW_VERSION; }
const char *rsagen_platform_idf_version(void) { return "host"; }
uint32_t rsagen_platform_reset_reason(void) { return s_reset_reason; }
bool rsagen_platform_download_reboot_supported(void) { return TARGETS[s_target_index].download_reboot; }
bool rsagen_platform_is_host(void) { return true; }

static void panic_handler(int sig)
{
    /* Async-signal-safe: fixed strings and write(2) only. Same first line as ESP-IDF's panic
     * handler so the board and the CLI recognise it, then the reboot status. */
    static const char msg[] = "Guru Meditation Error: Core  0 panic'ed (host signal). Exception was unhandled.\r\n"
                              "\r\nRebooting...\r\n";
    (void)sig;
    (void)!write(STDOUT_FILENO, msg, sizeof msg - 1);
    _exit(OS_POSIX_EXIT_PANIC);
}

static void usage(const char *why)
{
    fprintf(stderr,
            "rsagen-fw: %s\nusage: rsagen-fw --target <esp32|esp32s2|esp32s3|esp32c3|esp32c6> [--wdt-ms N]"
            " [--heap-bytes N] [--reset-reason N]\n",
            why);
    exit(EXIT_USAGE);
}

static unsigned long parse_num(const char *opt, const char *v, unsigned long max)
{
    char *end = NULL;
    if (v == NULL || *v == '\0') usage("missing number");
    unsigned long n = strtoul(v, &end, 10);
    if (*end != '\0' || n > max) {
        fprintf(stderr, "rsagen-fw: bad value for %s: %s\n", opt, v);
        exit(EXIT_USAGE);
    }
    return n;
}

static void console_log_sink(const uint8_t *bytes, size_t len) { rsagen_console_write(bytes, len); }

int main(int argc, char **argv)
{
    uint32_t wdt_ms = DEFAULT_WDT_MS;
    size_t heap_bytes = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--target") == 0 && v != NULL) {
            s_target = v;
            i++;
        } else if (strcmp(a, "--wdt-ms") == 0) {
            wdt_ms = (uint32_t)parse_num(a, v, 600000);
            i++;
        } else if (strcmp(a, "--heap-bytes") == 0) {
            heap_bytes = (size_t)parse_num(a, v, 1ul << 30);
            i++;
        } else if (strcmp(a, "--reset-reason") == 0) {
            s_reset_reason = (uint32_t)parse_num(a, v, 255);
            i++;
        } else {
            usage("unknown or incomplete argument");
        }
    }
    if (s_target == NULL) usage("--target is required");
    for (size_t t = 0; t < sizeof TARGETS / sizeof TARGETS[0]; t++) {
        if (strcmp(TARGETS[t].name, s_target) == 0) s_target_index = (int)t;
    }
    if (s_target_index < 0) usage("unknown target");

    signal(SIGPIPE, SIG_IGN);
    signal(SIGSEGV, panic_handler);
    signal(SIGBUS, panic_handler);
    signal(SIGILL, panic_handler);
    signal(SIGFPE, panic_handler);
    signal(SIGABRT, panic_handler);

    const char *seed = getenv("RSAGEN_FW_SEED");
    os_posix_config_t cfg = {
        .wdt_timeout_ms = wdt_ms,
        .cores = TARGETS[s_target_index].cores,
        .heap_bytes = heap_bytes,
        .main_task_name = "cmd_loop", /* the device runs the loop in its task of that name */
        .fixed_seed = (seed != NULL && *seed != '\0') ? seed : NULL,
        .console_write = console_log_sink,
    };
    rsagen_os_posix_init(&cfg);

    /* The start of an ESP-IDF app log (IDF v5.x cpu_start/app_init/main_task lines), so the board's
     * console looks like a chip's and the CLI's log parsing is exercised. */
    bool dual = cfg.cores == 2;
    OS_LOGI("cpu_start", dual ? "Multicore app" : "Unicore app");
    OS_LOGI("cpu_start", "Pro cpu start user code");
    OS_LOGI("app_init", "Application information:");
    OS_LOGI("app_init", "Project name:     rsagen");
    OS_LOGI("app_init", "App version:      %s", RSAGEN_FW_VERSION);
    OS_LOGI("app_init", "ESP-IDF:          host");
    OS_LOGI("main_task", "Started on CPU0");
    OS_LOGI("main_task", "Calling app_main()");
    if (cfg.fixed_seed != NULL) OS_LOGW("rsagen", "RSAGEN_FW_SEED set: deterministic keys (benchmarks only)");
    rsagen_app_log_banner();

    app_exit_t why = rsagen_app_run();
    return (int)why;
}
