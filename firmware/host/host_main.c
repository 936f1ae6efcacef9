/*
 * rsagen-fw: the firmware's command loop built for the host (contract C2). The virtual board runs it
 * with the console on stdin/stdout.
 *
 *   rsagen-fw --target <esp32|esp32s2|esp32s3|esp32c3|esp32c6> [--wdt-ms N] [--heap-bytes N]
 *             [--reset-reason N] [--flash-fd N]
 *   --flash-fd N: the virtual board's flash service on file descriptor N (key slots live there;
 *       without it there is no key partition).
 *   env RSAGEN_FW_CRASH_AFTER_FLASH_WRITES=N: the N-th write or erase of the key partition is done
 *       half, then the process exits with status 9, as a power cut would (flash_posix.h).
 *   env RSAGEN_FW_SEED=<string>: deterministic entropy for benchmarks (host only).
 *   env RSAGEN_FW_STEP_LIMIT_MS=N: the keygen job's step limit (KEYGEN_STEP_LIMIT_MS) for tests.
 *   env RSAGEN_FW_LONG_STEP_MS=N: after mbedtls_rsa_gen_key the keygen task computes for N ms of
 *       CPU time without an RNG call (a stand-in for Mbed TLS's long callback-free steps).
 *   env RSAGEN_FW_STUCK_STEP_MS=N: after mbedtls_rsa_gen_key the keygen task blocks for N ms (a
 *       task that stopped getting the CPU).
 *
 * Exit status: 0 stdin closed, 2 bad arguments, 3 reboot requested, 4 reboot into download mode,
 * 5 task watchdog fired (report printed first), 6 panic/abort, 9 injected power cut.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "console.h"
#include "flash_posix.h"
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

#if CONFIG_TOIT_CRYPTO_EXTRA
static unsigned long env_num(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? parse_num(name, v, 3600000ul) : 0;
}

#include "keygen_job.h"

static unsigned long s_long_step_ms;
static unsigned long s_stuck_step_ms;

static uint64_t thread_cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)(t.tv_nsec / 1000);
}

/* Runs in the keygen task after mbedtls_rsa_gen_key (rsagen_keygen_host_after_gen). */
static void test_step_after_gen(void)
{
    if (s_long_step_ms > 0) {
        uint64_t end = thread_cpu_us() + (uint64_t)s_long_step_ms * 1000u;
        volatile uint32_t x = 1;
        while (thread_cpu_us() < end) x = x * 1103515245u + 12345u; /* computes, calls nothing */
    }
    if (s_stuck_step_ms > 0) rsagen_os_delay_ticks((uint32_t)(s_stuck_step_ms / rsagen_os_tick_ms()));
}

static void test_knobs_init(void)
{
    unsigned long limit = env_num("RSAGEN_FW_STEP_LIMIT_MS");
    if (limit > 0) rsagen_keygen_host_step_limit_ms = (uint32_t)limit;
    s_long_step_ms = env_num("RSAGEN_FW_LONG_STEP_MS");
    s_stuck_step_ms = env_num("RSAGEN_FW_STUCK_STEP_MS");
    if (s_long_step_ms > 0 || s_stuck_step_ms > 0) rsagen_keygen_host_after_gen = test_step_after_gen;
}
#else
static void test_knobs_init(void) {}
#endif

int main(int argc, char **argv)
{
    uint32_t wdt_ms = DEFAULT_WDT_MS;
    size_t heap_bytes = 0;
    int flash_fd = -1;
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
        } else if (strcmp(a, "--flash-fd") == 0) {
            flash_fd = (int)parse_num(a, v, 1023);
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
    test_knobs_init();
    if (flash_fd >= 0 && rsagen_flash_posix_attach(flash_fd) != 0) {
        fprintf(stderr, "rsagen-fw: no flash service on fd %d\n", flash_fd);
        exit(EXIT_USAGE);
    }

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
