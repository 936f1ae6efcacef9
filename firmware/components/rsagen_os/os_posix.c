/*
 * POSIX implementation of the OS layer for the host build (the virtual board runs it).
 *
 * Emulated task watchdog, modelled on ESP-IDF's task_wdt.c (see docs/firmware.md):
 * - Entries: one IDLE entry per emulated core (ESP-IDF's CONFIG_ESP_TASK_WDT_CHECK_IDLE_TASK_CPUn,
 *   default y) plus every user entry (rsagen_os_wdt_user_add, esp_task_wdt_add_user). A user entry
 *   is "reset" by rsagen_os_wdt_user_reset(); the timer is fed only when every entry has reset since
 *   the last feed, then all flags clear (esp_task_wdt_reset_user semantics).
 * - IDLE has priority 0, so on a real chip it runs only while every task of a higher priority on its
 *   core is blocked. Here a task is "blocked" inside rsagen_os_delay_ticks(),
 *   rsagen_os_task_join() and rsagen_os_posix_block_begin/end() (the console read). When the last
 *   runnable task of a core blocks, and at every monitor tick while all of them stay blocked, that
 *   core's IDLE entry resets. Background tasks (priority 0) share the core with IDLE by time slicing,
 *   so they never keep IDLE from running: they are left out of that check. A task above priority 0
 *   that computes without blocking (the inline negative control in the command loop) therefore
 *   starves IDLE and the watchdog fires, as on the chip.
 * - A background task's CPU ticks (rsagen_os_task_cpu_ticks) are its thread's CPU time in ticks: a
 *   blocked or descheduled thread accumulates none, as a task the tick interrupt never finds running.
 * - The timer runs on an emulated chip clock. While some task runs, it advances with the CPU time
 *   the process consumed (CLOCK_PROCESS_CPUTIME_ID): a loaded host that deschedules this process
 *   must not fire the watchdog falsely. While every task is blocked (the chip only waits), it
 *   advances with wall time, so a task that waits forever (a keygen task that stopped getting the
 *   CPU) still lets its entry time out. Two busy tasks on a dual-core emulation advance it up to 2x,
 *   which only makes the emulation stricter.
 * - A monitor thread checks the timer; on expiry it prints the ESP-IDF report naming the entries
 *   that did not reset and the tasks running on each core, then exits with status 5.
 */
#include "os_posix.h"
#include "rsagen_os.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MAX_TASKS 8
#define TICK_MS 1u

typedef struct {
    bool used;       /* a live task, or a watchdog user entry */
    bool alive;      /* a task whose thread still runs (never true for a user entry) */
    bool background; /* priority 0: shares its core with IDLE */
    char name[24];
    int core;
    bool blocked;
    bool wdt_sub;    /* has a watchdog entry (user entries only) */
    bool wdt_reset;
} emu_task_t;

static os_posix_config_t g_cfg;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_exit_cond = PTHREAD_COND_INITIALIZER;
static emu_task_t g_tasks[MAX_TASKS];
static bool g_idle_reset[2];
static uint64_t g_last_feed_us; /* on the watchdog clock (CPU time) */
static uint64_t g_window_start_us;
static uint64_t g_feeds;
static uint64_t g_max_gap_us;
static struct timespec g_boot;
static _Thread_local int t_slot = -1;

/* ---- time ------------------------------------------------------------------------------------ */

uint64_t rsagen_os_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - g_boot.tv_sec) * 1000000u + (uint64_t)(now.tv_nsec / 1000) -
           (uint64_t)(g_boot.tv_nsec / 1000);
}

uint32_t rsagen_os_ms(void) { return (uint32_t)(rsagen_os_us() / 1000u); }

uint32_t rsagen_os_tick_ms(void) { return TICK_MS; }

static uint64_t clock_us(clockid_t id)
{
    struct timespec now;
    clock_gettime(id, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)(now.tv_nsec / 1000);
}

/* The emulated chip clock (see the top of this file), in segments: each starts at a sample, taken
 * whenever a task blocks or unblocks and at every monitor tick, and runs on wall or CPU time
 * depending on whether every task was blocked then. All under g_mu. */
static uint64_t g_clk_base_us;
static uint64_t g_clk_wall_at;
static uint64_t g_clk_cpu_at;
static bool g_clk_idle;

static uint64_t wdt_clock_us(void)
{
    uint64_t d = g_clk_idle ? clock_us(CLOCK_MONOTONIC) - g_clk_wall_at
                            : clock_us(CLOCK_PROCESS_CPUTIME_ID) - g_clk_cpu_at;
    return g_clk_base_us + d;
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000u), .tv_nsec = (long)(us % 1000000u) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- emulated scheduler state and watchdog (all under g_mu) ---------------------------------- */

static bool core_all_blocked(int core)
{
    for (int i = 0; i < MAX_TASKS; i++) {
        const emu_task_t *e = &g_tasks[i];
        if (e->used && e->alive && !e->background && e->core == core && !e->blocked) return false;
    }
    return true;
}

static bool any_task_subscribed(void)
{
    for (int i = 0; i < MAX_TASKS; i++) {
        if (g_tasks[i].used && g_tasks[i].wdt_sub) return true;
    }
    return false;
}

/* Feeds the timer if every entry has reset since the last feed (esp_task_wdt_reset semantics). */
static void try_feed(void)
{
    for (int c = 0; c < g_cfg.cores; c++) {
        if (!g_idle_reset[c]) return;
    }
    for (int i = 0; i < MAX_TASKS; i++) {
        if (g_tasks[i].used && g_tasks[i].wdt_sub && !g_tasks[i].wdt_reset) return;
    }
    uint64_t now = wdt_clock_us();
    if (any_task_subscribed() && now - g_last_feed_us > g_max_gap_us) {
        g_max_gap_us = now - g_last_feed_us;
    }
    g_last_feed_us = now;
    g_feeds++;
    for (int c = 0; c < g_cfg.cores; c++) g_idle_reset[c] = false;
    for (int i = 0; i < MAX_TASKS; i++) g_tasks[i].wdt_reset = false;
}

static bool chip_idle(void)
{
    for (int i = 0; i < MAX_TASKS; i++) {
        if (g_tasks[i].used && g_tasks[i].alive && !g_tasks[i].blocked) return false;
    }
    return true;
}

/* Closes the clock's current segment and starts one for the present task states. */
static void clock_sample(void)
{
    g_clk_base_us = wdt_clock_us();
    g_clk_wall_at = clock_us(CLOCK_MONOTONIC);
    g_clk_cpu_at = clock_us(CLOCK_PROCESS_CPUTIME_ID);
    g_clk_idle = chip_idle();
}

/* Lets IDLE run on every core whose tasks are all blocked (FreeRTOS would schedule it there). */
static void run_idle_where_possible(void)
{
    for (int c = 0; c < g_cfg.cores; c++) {
        if (core_all_blocked(c)) g_idle_reset[c] = true;
    }
    try_feed();
}

static void set_blocked(bool blocked)
{
    if (t_slot < 0) return;
    pthread_mutex_lock(&g_mu);
    g_tasks[t_slot].blocked = blocked;
    clock_sample();
    if (blocked) run_idle_where_possible();
    pthread_mutex_unlock(&g_mu);
}

void rsagen_os_posix_block_begin(void) { set_blocked(true); }
void rsagen_os_posix_block_end(void) { set_blocked(false); }

static const char *idle_name(int core)
{
    /* FreeRTOS names: "IDLE" on single-core builds, "IDLE0"/"IDLE1" on dual-core from IDF v5.2. */
    if (g_cfg.cores == 1) return "IDLE";
    return core == 0 ? "IDLE0" : "IDLE1";
}

static void wdt_report_and_exit(void)
{
    /* Same lines, tag and order as ESP-IDF's task_wdt.c (IDF@v5.5.5 esp_task_wdt_print_triggered_tasks
     * and task_wdt_timeout_handling with CONFIG_ESP_TASK_WDT_PANIC=y). */
    OS_LOGE("task_wdt", "Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:");
    for (int c = 0; c < g_cfg.cores; c++) {
        if (!g_idle_reset[c]) OS_LOGE("task_wdt", " - %s (CPU %d)", idle_name(c), c);
    }
    for (int i = 0; i < MAX_TASKS; i++) {
        /* User entries have no task, so ESP-IDF names every core for them (get_task_affinity). */
        if (g_tasks[i].used && g_tasks[i].wdt_sub && !g_tasks[i].wdt_reset) {
            OS_LOGE("task_wdt", " - %s (%s)", g_tasks[i].name, g_cfg.cores == 1 ? "CPU 0" : "CPU 0/1");
        }
    }
    OS_LOGE("task_wdt", "Tasks currently running:");
    for (int c = 0; c < g_cfg.cores; c++) {
        /* The scheduler runs a runnable task above priority 0 first, then a background task. */
        const char *running = idle_name(c);
        bool found_foreground = false;
        for (int i = 0; i < MAX_TASKS && !found_foreground; i++) {
            const emu_task_t *e = &g_tasks[i];
            if (!e->used || !e->alive || e->core != c || e->blocked) continue;
            if (!e->background || strcmp(running, idle_name(c)) == 0) running = e->name;
            found_foreground = !e->background;
        }
        OS_LOGE("task_wdt", "CPU %d: %s", c, running);
    }
    OS_LOGE("task_wdt", "Aborting.");
    _exit(OS_POSIX_EXIT_WDT);
}

static void *wdt_monitor(void *arg)
{
    (void)arg;
    uint32_t period_us = g_cfg.wdt_timeout_ms * 1000u / 50u;
    if (period_us < 500u) period_us = 500u;
    if (period_us > 20000u) period_us = 20000u;
    for (;;) {
        sleep_us(period_us);
        pthread_mutex_lock(&g_mu);
        clock_sample();
        run_idle_where_possible();
        if (wdt_clock_us() - g_last_feed_us > (uint64_t)g_cfg.wdt_timeout_ms * 1000u) {
            wdt_report_and_exit(); /* does not return; g_mu stays held so nothing else changes */
        }
        pthread_mutex_unlock(&g_mu);
    }
    return NULL;
}

void rsagen_os_posix_wdt_stats_take(os_posix_wdt_stats_t *out)
{
    pthread_mutex_lock(&g_mu);
    uint64_t now = rsagen_os_us();
    out->feeds = g_feeds;
    out->max_gap_us = g_max_gap_us;
    out->last_window_us = now - g_window_start_us;
    g_feeds = 0;
    g_max_gap_us = 0;
    g_window_start_us = now;
    pthread_mutex_unlock(&g_mu);
}

int rsagen_os_wdt_user_add(os_wdt_user_t *u, const char *name)
{
    u->added = false;
    u->slot = -1;
    if (g_cfg.wdt_timeout_ms == 0) return -1;
    pthread_mutex_lock(&g_mu);
    int slot = -1;
    for (int i = 0; i < MAX_TASKS && slot < 0; i++) {
        if (!g_tasks[i].used) slot = i;
    }
    if (slot >= 0) {
        emu_task_t *e = &g_tasks[slot];
        memset(e, 0, sizeof *e);
        e->used = true;
        e->wdt_sub = true;
        snprintf(e->name, sizeof e->name, "%s", name);
        u->slot = slot;
        u->added = true;
    }
    pthread_mutex_unlock(&g_mu);
    return u->added ? 0 : -1;
}

void rsagen_os_wdt_user_reset(os_wdt_user_t *u)
{
    if (!u->added) return;
    pthread_mutex_lock(&g_mu);
    g_tasks[u->slot].wdt_reset = true;
    try_feed();
    pthread_mutex_unlock(&g_mu);
}

void rsagen_os_wdt_user_delete(os_wdt_user_t *u)
{
    if (!u->added) return;
    pthread_mutex_lock(&g_mu);
    memset(&g_tasks[u->slot], 0, sizeof g_tasks[u->slot]);
    try_feed();
    pthread_mutex_unlock(&g_mu);
    u->added = false;
    u->slot = -1;
}

uint32_t rsagen_os_wdt_timeout_ms(void) { return g_cfg.wdt_timeout_ms; }

/* ---- tasks ----------------------------------------------------------------------------------- */

int rsagen_os_core_count(void) { return g_cfg.cores; }

static int claim_slot(const char *name, int core, bool background)
{
    for (int i = 0; i < MAX_TASKS; i++) {
        if (!g_tasks[i].used) {
            memset(&g_tasks[i], 0, sizeof g_tasks[i]);
            g_tasks[i].used = true;
            g_tasks[i].alive = true;
            snprintf(g_tasks[i].name, sizeof g_tasks[i].name, "%s", name);
            g_tasks[i].core = core;
            g_tasks[i].background = background;
            return i;
        }
    }
    return -1;
}

static void *task_trampoline(void *p)
{
    os_task_t *t = p;
    t_slot = t->slot;
    os_task_fn_t fn = t->fn;
    void *arg = t->arg;
    fn(arg);
    pthread_mutex_lock(&g_mu);
    g_tasks[t_slot].alive = false;
    g_tasks[t_slot].used = false;
    atomic_store(&t->exited, 1); /* last access to *t */
    pthread_cond_broadcast(&g_exit_cond);
    clock_sample();
    run_idle_where_possible();
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

static atomic_bool g_fail_task_start;

void rsagen_os_posix_fail_next_task_start(void) { atomic_store(&g_fail_task_start, true); }

int rsagen_os_task_start(os_task_t *t, const char *name, os_task_fn_t fn, void *arg, size_t stack_bytes,
                  unsigned prio, int core)
{
    if (atomic_exchange(&g_fail_task_start, false)) return -1; /* injected: no memory for the task */
    /* Host threads are not prioritised; the watchdog model needs only "background or not". */
    if (core == OS_CORE_ANY || core >= g_cfg.cores) core = g_cfg.cores - 1;
    t->fn = fn;
    t->arg = arg;
    atomic_init(&t->exited, 0);
    t->background = prio == RSAGEN_OS_PRIO_BACKGROUND;
    t->cpu_ticks = 0;
    t->core = core;
    t->joined = false;
    pthread_mutex_lock(&g_mu);
    t->slot = claim_slot(name, core, t->background);
    clock_sample();
    pthread_mutex_unlock(&g_mu);
    if (t->slot < 0) return -1;

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* Host stacks are larger than the device's: sanitizers and glibc need room the chip does not. */
    size_t host_stack = stack_bytes * 16u;
    if (host_stack < 256u * 1024u) host_stack = 256u * 1024u;
    pthread_attr_setstacksize(&attr, host_stack);
    int rc = pthread_create(&t->thread, &attr, task_trampoline, t);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&g_mu);
        g_tasks[t->slot].used = false;
        pthread_mutex_unlock(&g_mu);
        return -1;
    }
    return 0;
}

bool rsagen_os_task_exited(const os_task_t *t) { return atomic_load(&((os_task_t *)t)->exited) != 0; }

uint32_t rsagen_os_task_cpu_ticks(os_task_t *t)
{
    /* Only while the thread runs (its CPU clock goes away when it is reaped); the last value stays. */
    if (!t->background || t->joined || rsagen_os_task_exited(t)) return t->cpu_ticks;
    clockid_t cid;
    struct timespec cpu;
    if (pthread_getcpuclockid(t->thread, &cid) == 0 && clock_gettime(cid, &cpu) == 0) {
        uint64_t us = (uint64_t)cpu.tv_sec * 1000000u + (uint64_t)(cpu.tv_nsec / 1000);
        t->cpu_ticks = (uint32_t)(us / (TICK_MS * 1000u));
    }
    return t->cpu_ticks;
}

bool rsagen_os_task_join(os_task_t *t, uint32_t timeout_ms)
{
    if (t->joined) return true;
    set_blocked(true);
    uint64_t deadline = rsagen_os_us() + (uint64_t)timeout_ms * 1000u;
    pthread_mutex_lock(&g_mu);
    while (!rsagen_os_task_exited(t)) {
        if (timeout_ms == UINT32_MAX) {
            pthread_cond_wait(&g_exit_cond, &g_mu);
            continue;
        }
        uint64_t now = rsagen_os_us();
        if (now >= deadline) break;
        /* Wait in short steps: the condvar uses CLOCK_REALTIME, our deadline is monotonic. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t step = deadline - now < 5000u ? deadline - now : 5000u;
        ts.tv_nsec += (long)step * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g_exit_cond, &g_mu, &ts);
    }
    bool done = rsagen_os_task_exited(t);
    pthread_mutex_unlock(&g_mu);
    set_blocked(false);
    if (done) {
        pthread_join(t->thread, NULL); /* the thread is past its last access; this only reaps it */
        t->joined = true;
    }
    return done;
}

void rsagen_os_delay_ticks(uint32_t ticks)
{
    set_blocked(true);
    sleep_us((uint64_t)ticks * TICK_MS * 1000u);
    set_blocked(false);
}

/* ---- mutex ----------------------------------------------------------------------------------- */

void rsagen_os_mutex_init(os_mutex_t *m) { pthread_mutex_init(&m->m, NULL); }
void rsagen_os_mutex_lock(os_mutex_t *m) { pthread_mutex_lock(&m->m); }
void rsagen_os_mutex_unlock(os_mutex_t *m) { pthread_mutex_unlock(&m->m); }

/* ---- entropy --------------------------------------------------------------------------------- */

static uint64_t g_seed_state;
static pthread_mutex_t g_seed_mu = PTHREAD_MUTEX_INITIALIZER;

/* SplitMix64 (Steele, Lea, Flood 2014): a deterministic byte stream for benchmarks only. It is not
 * a secure entropy source and it cannot be selected on ESP-IDF (this file is host-only). */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rsagen_os_posix_reseed(const char *seed)
{
    pthread_mutex_lock(&g_seed_mu);
    g_cfg.fixed_seed = seed;
    /* FNV-1a of the seed string starts the stream, so equal seeds give equal streams. */
    uint64_t h = 0xCBF29CE484222325ull;
    for (const char *c = seed != NULL ? seed : ""; *c; c++) h = (h ^ (uint8_t)*c) * 0x100000001B3ull;
    g_seed_state = h;
    pthread_mutex_unlock(&g_seed_mu);
}

int rsagen_os_entropy(uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&g_seed_mu);
    if (g_cfg.fixed_seed != NULL) {
        for (size_t i = 0; i < len; i += 8) {
            uint64_t v = splitmix64(&g_seed_state);
            memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
        }
        pthread_mutex_unlock(&g_seed_mu);
        return 0;
    }
    pthread_mutex_unlock(&g_seed_mu);
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom(buf + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/* ---- heap ------------------------------------------------------------------------------------ */

/* Each block carries its size in front so the budget can be tracked (max_align_t keeps alignment). */
typedef union {
    size_t size;
    max_align_t align;
} heap_hdr_t;

static atomic_size_t g_heap_used;
static atomic_long g_fail_countdown;

void rsagen_os_posix_fail_alloc_at(long n) { atomic_store(&g_fail_countdown, n > 0 ? n : 0); }

size_t rsagen_os_posix_heap_in_use(void) { return atomic_load(&g_heap_used); }

void *rsagen_os_malloc(size_t n)
{
    long c = atomic_load(&g_fail_countdown);
    while (c > 0 && !atomic_compare_exchange_weak(&g_fail_countdown, &c, c - 1)) {
    }
    if (c == 1) return NULL; /* injected failure */
    if (g_cfg.heap_bytes != 0 && atomic_load(&g_heap_used) + n > g_cfg.heap_bytes) return NULL;
    heap_hdr_t *h = malloc(sizeof *h + n);
    if (h == NULL) return NULL;
    h->size = n;
    atomic_fetch_add(&g_heap_used, n);
    return h + 1;
}

void rsagen_os_free(void *p)
{
    if (p == NULL) return;
    heap_hdr_t *h = (heap_hdr_t *)p - 1;
    atomic_fetch_sub(&g_heap_used, h->size);
    free(h);
}

size_t rsagen_os_free_heap(void)
{
    size_t budget = g_cfg.heap_bytes != 0 ? g_cfg.heap_bytes : 320u * 1024u;
    size_t used = atomic_load(&g_heap_used);
    return used >= budget ? 0 : budget - used;
}

size_t rsagen_os_largest_free_block(void) { return rsagen_os_free_heap(); }

/* ---- log ------------------------------------------------------------------------------------- */

void rsagen_os_log(char level, const char *tag, const char *fmt, ...)
{
    char line[320];
    int n = snprintf(line, sizeof line, "%c (%u) %s: ", level, (unsigned)rsagen_os_ms(), tag);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 3) n = (int)sizeof line - 3;
    line[n++] = '\r';
    line[n++] = '\n';
    if (g_cfg.console_write != NULL) {
        g_cfg.console_write((const uint8_t *)line, (size_t)n);
    } else {
        (void)!write(2, line, (size_t)n);
    }
}

/* ---- init ------------------------------------------------------------------------------------ */

void rsagen_os_posix_init(const os_posix_config_t *cfg)
{
    clock_gettime(CLOCK_MONOTONIC, &g_boot);
    g_cfg = *cfg;
    if (g_cfg.cores < 1) g_cfg.cores = 1;
    if (g_cfg.cores > 2) g_cfg.cores = 2;
    if (g_cfg.fixed_seed != NULL) rsagen_os_posix_reseed(g_cfg.fixed_seed);
    pthread_mutex_lock(&g_mu);
    t_slot = claim_slot(g_cfg.main_task_name != NULL ? g_cfg.main_task_name : "main", 0, false);
    clock_sample();
    g_last_feed_us = wdt_clock_us();
    g_window_start_us = g_last_feed_us;
    pthread_mutex_unlock(&g_mu);
    if (g_cfg.wdt_timeout_ms > 0) {
        pthread_t mon;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&mon, &attr, wdt_monitor, NULL) != 0) {
            OS_LOGE("os", "cannot start the watchdog monitor thread");
            _exit(OS_POSIX_EXIT_PANIC);
        }
        pthread_attr_destroy(&attr);
    }
}
