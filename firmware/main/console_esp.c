/*
 * ESP-IDF console: UART0 (CONFIG_ESP_CONSOLE_UART_NUM) through the UART driver. ESP_LOG output is
 * routed through the same driver (uart_vfs_dev_use_driver), whose TX mutex is held for a whole
 * uart_write_bytes call, so a frame written in one call is never split by a log line
 * (docs/protocol.md, "Writing frames on ESP-IDF"). Frames never go through stdio, which would
 * translate LF to CRLF inside binary data.
 */
#include "console.h"

#include "driver/uart.h"
#include "esp_idf_version.h"
#include "freertos/FreeRTOS.h"
#include "sdkconfig.h"

#if ESP_IDF_VERSION >= ESP_IDF_VERSION_VAL(5, 3, 0)
#include "driver/uart_vfs.h"
#define RSAGEN_UART_USE_DRIVER uart_vfs_dev_use_driver
#else
#include "esp_vfs_dev.h"
#define RSAGEN_UART_USE_DRIVER esp_vfs_dev_uart_use_driver
#endif

#if !CONFIG_ESP_CONSOLE_UART
#error "rsagen speaks its protocol on the console UART: set CONFIG_ESP_CONSOLE_UART_DEFAULT=y (UART0)"
#endif

#define CONSOLE_UART ((uart_port_t)CONFIG_ESP_CONSOLE_UART_NUM)
/* RX ring: two largest frames (2 x 1037 bytes), so a pipelined request waits while we answer. */
#define CONSOLE_RX_BUF 4096
#define CONSOLE_TX_BUF 2048

void rsagen_console_esp_init(void);

void rsagen_console_esp_init(void)
{
    /* The console UART is already configured (baud CONFIG_ESP_CONSOLE_UART_BAUDRATE) by startup. */
    ESP_ERROR_CHECK(uart_driver_install(CONSOLE_UART, CONSOLE_RX_BUF, CONSOLE_TX_BUF, 0, NULL, 0));
    RSAGEN_UART_USE_DRIVER(CONSOLE_UART);
}

void rsagen_console_write(const uint8_t *bytes, size_t len)
{
    (void)uart_write_bytes(CONSOLE_UART, bytes, len); /* one call = one unit under the TX mutex */
}

int rsagen_console_read(uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    /* uart_read_bytes waits until it has all it asked for, so ask for one byte with the timeout
     * (this blocks the task: IDLE runs), then take whatever else is already buffered. */
    TickType_t ticks = pdMS_TO_TICKS(timeout_ms);
    if (ticks == 0) ticks = 1;
    int n = uart_read_bytes(CONSOLE_UART, buf, 1, ticks);
    if (n <= 0) return 0;
    size_t avail = 0;
    if (uart_get_buffered_data_len(CONSOLE_UART, &avail) == ESP_OK && avail > 0 && cap > 1) {
        size_t want = avail < cap - 1 ? avail : cap - 1;
        int m = uart_read_bytes(CONSOLE_UART, buf + 1, (uint32_t)want, 0);
        if (m > 0) n += m;
    }
    return n;
}
