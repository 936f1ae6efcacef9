/*
 * rsagen OS layer, flash part: the key-slot partition as a tiny NOR-flash interface.
 *
 * NOR semantics (both implementations, and the in-memory flash of the C tests): an erased byte
 * reads 0xFF, erase works on whole 4 KiB sectors, and a write can only clear bits (the stored byte
 * becomes old AND new), so data written over data without an erase is corrupted, not replaced.
 *
 * Implementations:
 *  - ESP-IDF (flash_esp.c): esp_partition_find_first(RSAGEN_FLASH_KEYS_TYPE, ..._SUBTYPE, label),
 *    esp_partition_read/_write (through flash encryption when the partition is encrypted),
 *    esp_partition_read_raw/_write_raw (as stored), esp_partition_erase_range.
 *  - POSIX host build (flash_posix.c): the virtual board's flash, reached through the flash service
 *    on a file descriptor the board passes (src/sim/flash-service.ts), with the same partition
 *    lookup in the partition table at 0x8000.
 */
#ifndef RSAGEN_FLASH_H
#define RSAGEN_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Erase unit of every ESP32-family SPI flash (SPI_FLASH_SEC_SIZE). */
#define RSAGEN_FLASH_SECTOR 4096u

/*
 * The key-slot partition: a custom partition type (ESP-IDF reserves 0x40-0xFE for applications,
 * docs/en/api-guides/partition-tables.rst "Type field"; data subtypes other than IDF's own are
 * reserved for future IDF use, so a custom type is the documented choice), subtype 0x01, label
 * "rsagen_keys" (partitions/rsagen.csv).
 */
#define RSAGEN_FLASH_KEYS_TYPE 0x40
#define RSAGEN_FLASH_KEYS_SUBTYPE 0x01
#define RSAGEN_FLASH_KEYS_LABEL "rsagen_keys"

typedef struct {
    void *ctx;
    uint32_t size;  /* bytes, a multiple of RSAGEN_FLASH_SECTOR */
    bool encrypted; /* read/write go through flash encryption (writes then need 16-byte alignment) */
    /* Offsets are relative to the partition; every function returns 0 or -1. */
    int (*read)(void *ctx, uint32_t off, void *buf, size_t len);           /* decrypted if encrypted */
    int (*read_raw)(void *ctx, uint32_t off, void *buf, size_t len);       /* as stored (erased = 0xFF) */
    int (*write)(void *ctx, uint32_t off, const void *buf, size_t len);    /* encrypted if encrypted */
    int (*write_raw)(void *ctx, uint32_t off, const void *buf, size_t len); /* as given (zeroizing) */
    int (*erase)(void *ctx, uint32_t off, size_t len);                     /* whole sectors */
} rsagen_flash_t;

/* Opens the key-slot partition. 0 on success; -1 if this flash has no such partition (or, on the
 * host, the firmware was started without the board's flash). */
int rsagen_os_flash_keys_open(rsagen_flash_t *out);

/* Whether the chip runs with flash encryption (ESP-IDF: esp_flash_encryption_enabled(); the host
 * board never does). */
bool rsagen_os_flash_encryption_enabled(void);

/* Whether secure boot is enabled (ESP-IDF: esp_secure_boot_enabled(); never on the host). */
bool rsagen_os_secure_boot_enabled(void);

#ifdef __cplusplus
}
#endif

#endif /* RSAGEN_FLASH_H */
