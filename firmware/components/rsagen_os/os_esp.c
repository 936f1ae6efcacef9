/*
 * ESP-IDF implementation of the OS layer: FreeRTOS tasks and task notifications, the ESP-IDF task
 * watchdog (esp_task_wdt_*), idle and tick hooks for background tasks (esp_freertos_hooks.h), the
 * hardware RNG with the SAR-ADC entropy source enabled while seeding, and heap_caps for memory
 * figures. API facts from ESP-IDF v5.5.5: components/esp_system/include/esp_task_wdt.h,
 * components/esp_system/task_wdt/task_wdt.c, components/esp_system/include/esp_freertos_hooks.h,
 * components/esp_system/freertos_hooks.c, components/esp_hw_support/include/esp_random.h,
 * components/bootloader_support/include/bootloader_random.h.
 */
#include "rsagen_os.h"

#include <stdio.h>

#include "bootloader_random.h"
#include "esp_attr.h"
#include "esp_freertos_hooks.h"
#include "esp_heap_caps.h"
#include "esp_log.h"
#include "esp_random.h"
#include "esp_task_wdt.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "sdkconfig.h"

void rsagen_os_esp_init(void)
{
#if CONFIG_ESP_TASK_WDT_EN && !CONFIG_ESP_TASK_WDT_INIT
    /* The startup code initialises the TWDT only with CONFIG_ESP_TASK_WDT_INIT=y; otherwise do it
     * here with the same Kconfig values the startup code would have used (app_startup.c). */
    uint32_t idle_mask = 0;
#if CONFIG_ESP_TASK_WDT_CHECK_IDLE_TASK_CPU0
    idle_mask |= 1u << 0;
#endif
#if CONFIG_ESP_TASK_WDT_CHECK_IDLE_TASK_CPU1
    idle_mask |= 1u << 1;
#endif
    esp_task_wdt_config_t cfg = {
        .timeout_ms = CONFIG_ESP_TASK_WDT_TIMEOUT_S * 1000u,
        .idle_core_mask = idle_mask,
#if CONFIG_ESP_TASK_WDT_PANIC
        .trigger_panic = true,
#else
        .trigger_panic = false,
#endif
    };
    (void)esp_task_wdt_init(&cfg);
#endif
}

/* ---- time ------------------------------------------------------------------------------------ */

uint64_t rsagen_os_us(void) { return (uint64_t)esp_timer_get_time(); }

uint32_t rsagen_os_ms(void) { return (uint32_t)(esp_timer_get_time() / 1000); }

uint32_t rsagen_os_tick_ms(void) { return portTICK_PERIOD_MS; }

void rsagen_os_delay_ticks(uint32_t ticks)
{
    /* Ticks, not pdMS_TO_TICKS(ms): at CONFIG_FREERTOS_HZ=100 any ms < 10 rounds to a 0-tick delay,
     * which is only a yield and never lets IDLE run (espressif/esp-idf#1646). */
    vTaskDelay((TickType_t)ticks);
}

/* ---- tasks ----------------------------------------------------------------------------------- */

int rsagen_os_core_count(void) { return portNUM_PROCESSORS; }

/* The background task of each core (at most one: the keygen job), for the hooks below. */
static os_task_t *volatile s_background[portNUM_PROCESSORS];

/* Tick interrupt of the background task's core: count the ticks that find it on the CPU. Runs in
 * the tick ISR, so it lives in IRAM and uses no atomics library call (the ESP32-C3 has no A
 * extension; one writer, 32-bit aligned stores are atomic for the reader). */
static void IRAM_ATTR background_tick_hook(void)
{
    os_task_t *t = s_background[xPortGetCoreID()];
    if (t != NULL && xTaskGetCurrentTaskHandle() == t->handle) t->cpu_ticks = t->cpu_ticks + 1u;
}

/* Idle hook of the background task's core. The task watchdog's own idle hook (registered when the
 * watchdog was initialised, before any job) has already reset IDLE's entry in this pass; now hand
 * the rest of the slice back to the background task instead of sleeping in WAITI (returning false
 * skips esp_vApplicationIdleHook's wait-for-interrupt). */
static bool background_idle_hook(void)
{
    taskYIELD();
    return false;
}

static void background_hooks(os_task_t *t, bool install)
{
    UBaseType_t core = (UBaseType_t)xPortGetCoreID(); /* the task is pinned: this is its core */
    if (install) {
        s_background[core] = t;
        if (esp_register_freertos_tick_hook_for_cpu(background_tick_hook, core) != ESP_OK ||
            esp_register_freertos_idle_hook_for_cpu(background_idle_hook, core) != ESP_OK) {
            ESP_LOGW("rsagen_os", "no free FreeRTOS hook slot: IDLE sleeps out its slices (slower job)");
        }
    } else {
        esp_deregister_freertos_idle_hook_for_cpu(background_idle_hook, core);
        esp_deregister_freertos_tick_hook_for_cpu(background_tick_hook, core);
        s_background[core] = NULL;
    }
}

static void task_trampoline(void *p)
{
    os_task_t *t = p;
    os_task_fn_t fn = t->fn;
    void *arg = t->arg;
    bool background = t->background;
    if (background) background_hooks(t, true);
    fn(arg);
    if (background) background_hooks(t, false);
    /* Read the owner before publishing "exited": after the store the owner may free *t. */
    TaskHandle_t owner = t->owner;
    atomic_store(&t->exited, 1);
    xTaskNotifyGive(owner);
    /* Nothing below touches *t. FreeRTOS frees this task's TCB and stack (allocated by
     * xTaskCreatePinnedToCore in the owner's context) from the idle task. */
    vTaskDelete(NULL);
}

int rsagen_os_task_start(os_task_t *t, const char *name, os_task_fn_t fn, void *arg, size_t stack_bytes,
                  unsigned prio, int core)
{
    t->fn = fn;
    t->arg = arg;
    atomic_init(&t->exited, 0);
    t->background = prio == RSAGEN_OS_PRIO_BACKGROUND;
    t->cpu_ticks = 0;
    t->owner = xTaskGetCurrentTaskHandle();
    t->handle = NULL;
    BaseType_t affinity = (core == OS_CORE_ANY || core >= portNUM_PROCESSORS) ? tskNO_AFFINITY : core;
    if (t->background && affinity == tskNO_AFFINITY) affinity = portNUM_PROCESSORS - 1;
    /* ESP-IDF's FreeRTOS takes the stack depth in bytes (not words). */
    BaseType_t ok = xTaskCreatePinnedToCore(task_trampoline, name, (uint32_t)stack_bytes, t,
                                            (UBaseType_t)prio, &t->handle, affinity);
    return ok == pdPASS ? 0 : -1;
}

uint32_t rsagen_os_task_cpu_ticks(os_task_t *t) { return t->cpu_ticks; }

bool rsagen_os_task_exited(const os_task_t *t) { return atomic_load(&((os_task_t *)t)->exited) != 0; }

bool rsagen_os_task_join(os_task_t *t, uint32_t timeout_ms)
{
    TickType_t start = xTaskGetTickCount();
    TickType_t limit = timeout_ms == UINT32_MAX ? portMAX_DELAY : pdMS_TO_TICKS(timeout_ms);
    while (!rsagen_os_task_exited(t)) {
        TickType_t waited = xTaskGetTickCount() - start;
        if (limit != portMAX_DELAY && waited >= limit) return false;
        /* Blocks (so IDLE runs) until the task's exit notification or the remaining time. A stale
         * notification only causes one more turn of this loop: the flag is the truth. */
        (void)ulTaskNotifyTake(pdTRUE, limit == portMAX_DELAY ? portMAX_DELAY : limit - waited);
    }
    return true;
}

/* ---- mutex ----------------------------------------------------------------------------------- */

void rsagen_os_mutex_init(os_mutex_t *m) { m->h = xSemaphoreCreateMutexStatic(&m->storage); }
void rsagen_os_mutex_lock(os_mutex_t *m) { xSemaphoreTake(m->h, portMAX_DELAY); }
void rsagen_os_mutex_unlock(os_mutex_t *m) { xSemaphoreGive(m->h); }

/* ---- task watchdog --------------------------------------------------------------------------- */

int rsagen_os_wdt_user_add(os_wdt_user_t *u, const char *name)
{
    u->added = false;
    u->handle = NULL;
#if CONFIG_ESP_TASK_WDT_EN
    esp_task_wdt_user_handle_t h = NULL;
    if (esp_task_wdt_add_user(name, &h) != ESP_OK) return -1;
    u->handle = h;
    u->added = true;
    return 0;
#else
    (void)name;
    return -1;
#endif
}

void rsagen_os_wdt_user_reset(os_wdt_user_t *u)
{
#if CONFIG_ESP_TASK_WDT_EN
    if (u->added) (void)esp_task_wdt_reset_user((esp_task_wdt_user_handle_t)u->handle);
#else
    (void)u;
#endif
}

void rsagen_os_wdt_user_delete(os_wdt_user_t *u)
{
#if CONFIG_ESP_TASK_WDT_EN
    if (u->added) (void)esp_task_wdt_delete_user((esp_task_wdt_user_handle_t)u->handle);
#endif
    u->added = false;
    u->handle = NULL;
}

uint32_t rsagen_os_wdt_timeout_ms(void)
{
#if CONFIG_ESP_TASK_WDT_EN
    return CONFIG_ESP_TASK_WDT_TIMEOUT_S * 1000u;
#else
    return 0;
#endif
}

/* ---- entropy and memory ---------------------------------------------------------------------- */

int rsagen_os_entropy(uint8_t *buf, size_t len)
{
    /* esp_fill_random is truly random only while RF or the SAR-ADC entropy source is on
     * (esp_random.h); this firmware keeps RF off, so enable the ADC source for the seed. Seeding
     * draws a few dozen bytes; the RNG's built-in rate limit is irrelevant at that size. */
    bootloader_random_enable();
    esp_fill_random(buf, len);
    bootloader_random_disable();
    return 0;
}

void *rsagen_os_malloc(size_t n) { return heap_caps_malloc(n, MALLOC_CAP_8BIT); }
void rsagen_os_free(void *p) { heap_caps_free(p); }
size_t rsagen_os_free_heap(void) { return heap_caps_get_free_size(MALLOC_CAP_8BIT); }
size_t rsagen_os_largest_free_block(void) { return heap_caps_get_largest_free_block(MALLOC_CAP_8BIT); }

/* ---- log ------------------------------------------------------------------------------------- */

void rsagen_os_log(char level, const char *tag, const char *fmt, ...)
{
    char text[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    switch (level) {
    case 'E': ESP_LOGE(tag, "%s", text); break;
    case 'W': ESP_LOGW(tag, "%s", text); break;
    case 'D': ESP_LOGD(tag, "%s", text); break;
    default: ESP_LOGI(tag, "%s", text); break;
    }
}
