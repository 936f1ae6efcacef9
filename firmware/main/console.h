/*
 * The console: the byte stream the command loop reads requests from and writes frames and log
 * lines to. ESP-IDF: UART0 through the UART driver (console_esp.c). Host: stdin/stdout
 * (firmware/host/console_posix.c).
 */
#ifndef RSAGEN_CONSOLE_H
#define RSAGEN_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

/* Writes all bytes as one unit (a frame is never interleaved with another writer's output). */
void rsagen_console_write(const uint8_t *bytes, size_t len);

/* Reads what is available, waiting up to timeout_ms for the first byte. Returns the byte count,
 * 0 on timeout, -1 when the console is closed (host: stdin EOF). The wait blocks the task. */
int rsagen_console_read(uint8_t *buf, size_t cap, uint32_t timeout_ms);

#endif /* RSAGEN_CONSOLE_H */
