/*
 * rsagen OS layer: the few operating-system services the firmware needs, with one implementation on
 * ESP-IDF (os_esp.c: FreeRTOS tasks and notifications, esp_task_wdt_*, esp_fill_random) and one on
 * POSIX (os_posix.c: pthreads and an emulated task watchdog with FreeRTOS/TWDT semantics) for the host
 * build that the virtual board runs.
 *
 * Vocabulary follows FreeRTOS: priorities count up from the idle task's 0, a "tick" is the scheduler
 * period (10 ms at ESP-IDF's default CONFIG_FREERTOS_HZ=100; 1 ms on the host), and blocking for one
 * tick is what lets a lower-priority task (IDLE) run. Yielding without blocking does not.
 *
 * Background tasks (RSAGEN_OS_PRIO_BACKGROUND): long computations that cannot yield at bounded
 * intervals (a big-number step of Mbed TLS makes no callback for seconds) run at the idle priority.
 * FreeRTOS time-slices equal priorities at every tick (configUSE_TIME_SLICING=1 in ESP-IDF's
 * FreeRTOSConfig.h), so IDLE runs and resets its watchdog entry at least once per two ticks whatever
 * the task computes. IDLE does not give up its slice by itself (ESP-IDF sets configIDLE_SHOULD_YIELD
 * to 0) and would sleep in WAITI for the rest of it, so while a background task lives the OS layer
 * installs an idle hook on its core that yields back to it instead: IDLE costs a few microseconds
 * per tick, not half the CPU.
 */
#ifndef RSAGEN_OS_H
#define RSAGEN_OS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef ESP_PLATFORM
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "freertos/semphr.h"
#else
#include <pthread.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifdef ESP_PLATFORM
/* Initialises the ESP-IDF side (task watchdog if the startup code did not). Call from app_main. */
void rsagen_os_esp_init(void);
#endif

/* ---- Time ------------------------------------------------------------------------------------ */

/* Milliseconds since boot (wraps after 49 days; compare with unsigned subtraction). */
uint32_t rsagen_os_ms(void);
/* Microseconds since boot. */
uint64_t rsagen_os_us(void);
/* Blocks the calling task for at least `ticks` scheduler ticks. 1 tick lets IDLE run. */
void rsagen_os_delay_ticks(uint32_t ticks);
/* Milliseconds per tick (ESP-IDF: 1000 / CONFIG_FREERTOS_HZ). */
uint32_t rsagen_os_tick_ms(void);

/* ---- Tasks ----------------------------------------------------------------------------------- */

typedef void (*os_task_fn_t)(void *arg);

/*
 * A task record lives in memory owned by the caller (e.g. embedded in a job object), so starting a
 * task allocates only what the OS itself needs (TCB and stack on FreeRTOS, a thread on POSIX).
 * The caller must not free the record until rsagen_os_task_join() returned true.
 */
typedef struct {
    os_task_fn_t fn;
    void *arg;
    atomic_int exited; /* set by the task as its last access to this record */
    bool background;   /* started at RSAGEN_OS_PRIO_BACKGROUND */
    /* Scheduler ticks that found this background task on its CPU (written by the tick interrupt on
     * ESP-IDF, a plain 32-bit store by one writer; computed from the thread's CPU clock on POSIX). */
    volatile uint32_t cpu_ticks;
#ifdef ESP_PLATFORM
    TaskHandle_t handle;
    TaskHandle_t owner; /* task to notify on exit */
#else
    pthread_t thread;
    int core; /* emulated core the task is pinned to */
    int slot; /* index in the emulated task table */
    bool joined;
#endif
} os_task_t;

/* Core argument for rsagen_os_task_start. */
#define OS_CORE_ANY (-1)

/* The idle priority: see "Background tasks" above. Such a task is always pinned to one core
 * (OS_CORE_ANY picks the last core), because its idle and tick hooks belong to that core. */
#define RSAGEN_OS_PRIO_BACKGROUND 0u

/*
 * Starts fn(arg) in a new task. prio is a FreeRTOS priority (0 = idle). core is a core index or
 * OS_CORE_ANY. The calling task becomes the task's owner: it is the one notified on exit.
 * Returns 0, or -1 when the OS could not allocate the task (nothing is left allocated then).
 */
int rsagen_os_task_start(os_task_t *t, const char *name, os_task_fn_t fn, void *arg, size_t stack_bytes,
                  unsigned prio, int core);

/*
 * Waits up to timeout_ms (UINT32_MAX: forever) until the task's function has returned and the
 * task has made its last access to *t. Returns true when that happened; *t may then be freed.
 */
bool rsagen_os_task_join(os_task_t *t, uint32_t timeout_ms);

/* True once the task's function has returned (non-blocking). */
bool rsagen_os_task_exited(const os_task_t *t);

/* Scheduler ticks at which a background task was found running on its core, so far: evidence that
 * it gets the CPU (it is neither blocked nor starved). 0 for other tasks. Call from the owner. */
uint32_t rsagen_os_task_cpu_ticks(os_task_t *t);

/* Number of CPU cores the target schedules on (1 or 2). */
int rsagen_os_core_count(void);

/* ---- Mutex ----------------------------------------------------------------------------------- */

typedef struct {
#ifdef ESP_PLATFORM
    SemaphoreHandle_t h;
    StaticSemaphore_t storage;
#else
    pthread_mutex_t m;
#endif
} os_mutex_t;

void rsagen_os_mutex_init(os_mutex_t *m);
void rsagen_os_mutex_lock(os_mutex_t *m);
void rsagen_os_mutex_unlock(os_mutex_t *m);

/* ---- Task watchdog --------------------------------------------------------------------------- */

/*
 * A watchdog "user" entry (esp_task_wdt_add_user): an entry that is not a task, reset by whoever
 * holds evidence that the thing it watches makes progress. The timer is fed only once every entry
 * (the idle tasks' included) has reset since the last feed; an entry that stops resetting for the
 * timeout fires the watchdog with its name in the report.
 */
typedef struct {
#ifdef ESP_PLATFORM
    void *handle; /* esp_task_wdt_user_handle_t (kept opaque: esp_task_wdt.h stays private) */
#else
    int slot;
#endif
    bool added;
} os_wdt_user_t;

/* Adds an entry named `name` (static storage: the watchdog keeps the pointer). 0 on success; -1 when
 * the watchdog is disabled or has no room (u->added stays false and the other calls do nothing). */
int rsagen_os_wdt_user_add(os_wdt_user_t *u, const char *name);
void rsagen_os_wdt_user_reset(os_wdt_user_t *u);
void rsagen_os_wdt_user_delete(os_wdt_user_t *u);
/* The task watchdog timeout in ms (0 if the watchdog is disabled in this build). */
uint32_t rsagen_os_wdt_timeout_ms(void);

/* ---- Entropy and memory ---------------------------------------------------------------------- */

/* Fills buf with bytes from the platform entropy source (ESP-IDF: the hardware RNG with the SAR-ADC
 * entropy source enabled; host: getrandom(2), or a fixed test seed on request). 0 on success. */
int rsagen_os_entropy(uint8_t *buf, size_t len);

/* Heap allocation the firmware uses for its own buffers (the host build can cap it and inject
 * failures to test the out-of-memory paths). */
void *rsagen_os_malloc(size_t n);
void rsagen_os_free(void *p);
size_t rsagen_os_free_heap(void);
size_t rsagen_os_largest_free_block(void);

/* ---- Log ------------------------------------------------------------------------------------- */

/* ESP-IDF style log line "L (ms) tag: text". level is one of 'E', 'W', 'I', 'D'. */
void rsagen_os_log(char level, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define OS_LOGE(tag, ...) rsagen_os_log('E', tag, __VA_ARGS__)
#define OS_LOGW(tag, ...) rsagen_os_log('W', tag, __VA_ARGS__)
#define OS_LOGI(tag, ...) rsagen_os_log('I', tag, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* RSAGEN_OS_H */
