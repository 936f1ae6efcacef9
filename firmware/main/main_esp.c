/*
 * ESP-IDF entry point: starts the command loop task, reports platform facts, and restarts the chip
 * when the loop asks for it.
 */
#include <stdbool.h>

#include "app.h"
#include "esp_app_desc.h"
#include "esp_idf_version.h"
#include "esp_system.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "keygen_job.h"
#include "rsagen_os.h"
#include "sdkconfig.h"
#include "soc/soc.h"

#if CONFIG_IDF_TARGET_ESP32S2 || CONFIG_IDF_TARGET_ESP32S3 || CONFIG_IDF_TARGET_ESP32C3
#include "soc/rtc_cntl_reg.h"
#define RSAGEN_FORCE_DOWNLOAD() REG_WRITE(RTC_CNTL_OPTION1_REG, RTC_CNTL_FORCE_DOWNLOAD_BOOT)
#elif CONFIG_IDF_TARGET_ESP32C6
#include "soc/lp_aon_reg.h"
#define RSAGEN_FORCE_DOWNLOAD() REG_SET_BIT(LP_AON_SYS_CFG_REG, LP_AON_FORCE_DOWNLOAD_BOOT)
#endif
#include "driver/uart.h"

void rsagen_console_esp_init(void);

/*
 * Command loop task: 6 KiB of stack. Deepest path: KEYGEN -> rsagen_keygen_job_create ->
 * mbedtls_ctr_drbg_seed (384-byte seed buffer + AES context ~ 1 KiB) -> esp_fill_random, plus the
 * handler frames (HELLO payload ~280 B, READ uses a static buffer, the decoder is static) and
 * ESP_LOG's vprintf (~1 KiB). The default main task (3.5 KiB) would be tight; its own task also
 * gets the priority the design needs without touching sdkconfig.
 */
#define CMD_LOOP_STACK_BYTES 6144u

const char *rsagen_platform_target(void) { return CONFIG_IDF_TARGET; }
const char *rsagen_platform_fw_version(void) { return esp_app_get_description()->version; }
const char *rsagen_platform_idf_version(void) { return esp_get_idf_version(); }
uint32_t rsagen_platform_reset_reason(void) { return (uint32_t)esp_reset_reason(); }
bool rsagen_platform_is_host(void) { return false; }

bool rsagen_platform_download_reboot_supported(void)
{
#ifdef RSAGEN_FORCE_DOWNLOAD
    return true; /* the ROM checks this bit after a software reset (IDF usb_console.c does the same) */
#else
    return false; /* ESP32: no software "force download boot" bit */
#endif
}

static void cmd_loop_task(void *arg)
{
    (void)arg;
    rsagen_app_log_banner();
    app_exit_t why = rsagen_app_run(); /* returns only for a reboot request; any job is freed by then */
    (void)uart_wait_tx_done((uart_port_t)CONFIG_ESP_CONSOLE_UART_NUM, pdMS_TO_TICKS(1000));
#ifdef RSAGEN_FORCE_DOWNLOAD
    if (why == APP_EXIT_REBOOT_DOWNLOAD) RSAGEN_FORCE_DOWNLOAD();
#else
    (void)why;
#endif
    esp_restart();
}

void app_main(void)
{
    rsagen_os_esp_init();
    rsagen_console_esp_init();
    /* Priority KEYGEN_CMD_LOOP_PRIO (3), above the keygen task (1): a request preempts generation.
     * Core 0 on dual-core chips; the keygen task is pinned to core 1 there. */
    BaseType_t ok = xTaskCreatePinnedToCore(cmd_loop_task, "cmd_loop", CMD_LOOP_STACK_BYTES, NULL,
                                            KEYGEN_CMD_LOOP_PRIO, NULL, 0);
    if (ok != pdPASS) {
        OS_LOGE("rsagen", "cannot start the command loop task");
        esp_restart();
    }
    /* app_main returns; the IDF main task deletes itself. */
}
