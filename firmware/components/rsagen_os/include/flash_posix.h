/*
 * Host-only part of the flash layer (never compiled for ESP-IDF): how the host firmware reaches
 * the virtual board's flash, and the test knob that cuts power in the middle of a flash write.
 */
#ifndef RSAGEN_FLASH_POSIX_H
#define RSAGEN_FLASH_POSIX_H

#ifdef ESP_PLATFORM
#error "flash_posix.h is for the host build only"
#endif

#include <stdint.h>

#include "rsagen_flash.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit status of the injected power cut (RSAGEN_FW_CRASH_AFTER_FLASH_WRITES): the virtual board
 * treats it as power loss (src/sim/board.ts). */
#define RSAGEN_FLASH_POSIX_EXIT_POWER_CUT 9

/* The partition table offset of every rsagen build (CONFIG_PARTITION_TABLE_OFFSET=0x8000 in
 * sdkconfig/common.defaults). */
#define RSAGEN_FLASH_POSIX_TABLE_OFFSET 0x8000u

/*
 * Attaches the board's flash service on file descriptor fd (src/sim/flash-service.ts; the board
 * starts the firmware with --flash-fd). Reads environment RSAGEN_FW_CRASH_AFTER_FLASH_WRITES=N: the
 * N-th write or erase of the key partition is done only half (the first half of the bytes, or of
 * the sector), then the process exits with RSAGEN_FLASH_POSIX_EXIT_POWER_CUT, as a power cut would
 * leave the flash. Returns 0, or -1 if fd does not answer as a flash service.
 */
int rsagen_flash_posix_attach(int fd);

/* Tests: rsagen_os_flash_keys_open() hands out this flash (NULL: back to the service, if any). */
void rsagen_flash_posix_use(const rsagen_flash_t *keys);

#ifdef __cplusplus
}
#endif

#endif /* RSAGEN_FLASH_POSIX_H */
