/*
 * Host-only extensions of the OS layer (never compiled for ESP-IDF): configuration of the emulated
 * chip (cores, task watchdog timeout, heap budget, test seed), the "this task is blocked" markers the
 * console reader uses, and watchdog statistics for benchmarks.
 */
#ifndef RSAGEN_OS_POSIX_H
#define RSAGEN_OS_POSIX_H

#ifdef ESP_PLATFORM
#error "os_posix.h is for the host build only"
#endif

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit status when the emulated task watchdog fires (contract C2). */
#define OS_POSIX_EXIT_WDT 5
/* Exit status on a panic / abort (contract C2). */
#define OS_POSIX_EXIT_PANIC 6

typedef struct {
    uint32_t wdt_timeout_ms; /* 0: watchdog off */
    int cores;               /* 1 or 2: one emulated IDLE task per core */
    size_t heap_bytes;       /* emulated heap budget for rsagen_os_malloc; 0 = unlimited */
    const char *main_task_name; /* name of the calling thread's emulated task (NULL: "main") */
    const char *fixed_seed;  /* non-NULL: deterministic entropy derived from this string (benchmarks) */
    /* Writes one complete console chunk (log line); must be safe to call from any thread. */
    void (*console_write)(const uint8_t *bytes, size_t len);
} os_posix_config_t;

/* Configures the layer and registers the calling thread as the "main" task on core 0. Starts the
 * watchdog monitor thread when wdt_timeout_ms > 0. Call once, before anything else. */
void rsagen_os_posix_init(const os_posix_config_t *cfg);

/* Brackets a blocking wait of the calling task (e.g. waiting for console input). While every task
 * of a core is inside such a bracket (or in rsagen_os_delay_ticks / rsagen_os_task_join), that core's emulated
 * IDLE task runs and resets its watchdog entry, as FreeRTOS would schedule it. */
void rsagen_os_posix_block_begin(void);
void rsagen_os_posix_block_end(void);

typedef struct {
    uint64_t feeds;          /* times the emulated watchdog timer was fed */
    uint64_t max_gap_us;     /* longest gap between two feeds while a task was subscribed, on the
                              * watchdog's clock (process CPU time, see os_posix.c) */
    uint64_t last_window_us; /* length of the window the max was taken over */
} os_posix_wdt_stats_t;

/* Reads the statistics and starts a new window. */
void rsagen_os_posix_wdt_stats_take(os_posix_wdt_stats_t *out);

/* Restarts the deterministic entropy stream from `seed` (fixed-seed mode; benchmarks compare two
 * generations on the identical stream). NULL switches back to getrandom(2). */
void rsagen_os_posix_reseed(const char *seed);

/* Makes the next rsagen_os_task_start fail as if the OS had no memory for the task (tests). */
void rsagen_os_posix_fail_next_task_start(void);

/* Makes the n-th rsagen_os_malloc from now fail (1 = the next one); n <= 0 turns injection off. */
void rsagen_os_posix_fail_alloc_at(long n);
/* Bytes currently allocated through rsagen_os_malloc. */
size_t rsagen_os_posix_heap_in_use(void);

#ifdef __cplusplus
}
#endif

#endif /* RSAGEN_OS_POSIX_H */
