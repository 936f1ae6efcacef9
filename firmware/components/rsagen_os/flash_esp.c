/*
 * Key-slot partition on ESP-IDF (rsagen_flash.h): esp_partition_* on the partition of type 0x40,
 * subtype 0x01, label "rsagen_keys" (partitions/rsagen.csv). Functions as of IDF v5.5.5
 * components/esp_partition/include/esp_partition.h: esp_partition_read/_write go through flash
 * encryption when the partition is encrypted (its `encrypted` flag, honoured only once flash
 * encryption is enabled: partition.c is_partition_encrypted), the _raw variants never do.
 */
#include <stdint.h>

#include "esp_flash_encrypt.h"
#include "esp_partition.h"
#include "esp_secure_boot.h"
#include "rsagen_flash.h"

static int esp_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    return esp_partition_read(ctx, off, buf, len) == ESP_OK ? 0 : -1;
}

static int esp_read_raw(void *ctx, uint32_t off, void *buf, size_t len)
{
    return esp_partition_read_raw(ctx, off, buf, len) == ESP_OK ? 0 : -1;
}

static int esp_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
    return esp_partition_write(ctx, off, buf, len) == ESP_OK ? 0 : -1;
}

static int esp_write_raw(void *ctx, uint32_t off, const void *buf, size_t len)
{
    return esp_partition_write_raw(ctx, off, buf, len) == ESP_OK ? 0 : -1;
}

static int esp_erase(void *ctx, uint32_t off, size_t len)
{
    return esp_partition_erase_range(ctx, off, len) == ESP_OK ? 0 : -1;
}

int rsagen_os_flash_keys_open(rsagen_flash_t *out)
{
    const esp_partition_t *p = esp_partition_find_first((esp_partition_type_t)RSAGEN_FLASH_KEYS_TYPE,
                                                        (esp_partition_subtype_t)RSAGEN_FLASH_KEYS_SUBTYPE,
                                                        RSAGEN_FLASH_KEYS_LABEL);
    if (p == NULL || p->erase_size != RSAGEN_FLASH_SECTOR) return -1;
    *out = (rsagen_flash_t){
        .ctx = (void *)p,
        .size = (uint32_t)(p->size / RSAGEN_FLASH_SECTOR * RSAGEN_FLASH_SECTOR),
        .encrypted = p->encrypted,
        .read = esp_read,
        .read_raw = esp_read_raw,
        .write = esp_write,
        .write_raw = esp_write_raw,
        .erase = esp_erase,
    };
    return 0;
}

bool rsagen_os_flash_encryption_enabled(void) { return esp_flash_encryption_enabled(); }

bool rsagen_os_secure_boot_enabled(void) { return esp_secure_boot_enabled(); }
