/*
 * Key-slot partition on the host build (rsagen_flash.h): the virtual board owns the flash (one
 * NOR flash shared with its ROM loader and boot, src/sim/flash.ts) and serves it on a file
 * descriptor (src/sim/flash-service.ts). Requests, all little-endian:
 *   u8 op, u32 address, u32 length, then `length` bytes for 'W'
 *   op 'I' size, 'R' read, 'W' program (bits only cleared), 'E' erase sectors,
 *      'T' torn erase (sets the first `length` bytes to 0xFF: the test knob's half erase)
 * Answer: u8 status (0 ok), then u32 flash size for 'I' or the bytes for 'R'.
 * The partition is found as ESP-IDF's esp_partition_find_first would: by type, subtype and label in
 * the partition table at 0x8000. Entry layout: esp_partition_info_t in IDF v5.5.5
 * components/bootloader_support/include/esp_flash_partitions.h (32 bytes: magic 0x50AA, type,
 * subtype, offset, size, label[16], flags; ESP_PARTITION_MAGIC_MD5 0xEBEB starts the MD5 entry,
 * erased bytes end the table; ESP_PARTITION_TABLE_MAX_LEN 0xC00).
 */
#include "flash_posix.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENTRY_LEN 32u
#define TABLE_MAX 0xC00u
#define MAX_CHUNK 4096u

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static int s_fd = -1;
static uint32_t s_flash_size;
static uint32_t s_part_off, s_part_size;
static bool s_part_found;
static long s_crash_after; /* 0: off */
static long s_mutations;
static const rsagen_flash_t *s_override;

static int write_all(const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(s_fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(s_fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* One request and its answer, under the lock held by the caller. */
static int rpc(char op, uint32_t addr, uint32_t len, const void *out, void *in)
{
    if (s_fd < 0) return -1;
    uint8_t h[9];
    h[0] = (uint8_t)op;
    put32(h + 1, addr);
    put32(h + 5, len);
    if (write_all(h, sizeof h) != 0) return -1;
    if (op == 'W' && write_all(out, len) != 0) return -1;
    uint8_t st;
    if (read_all(&st, 1) != 0 || st != 0) return -1;
    if (op == 'R' && read_all(in, len) != 0) return -1;
    if (op == 'I') {
        uint8_t sz[4];
        if (read_all(sz, 4) != 0) return -1;
        s_flash_size = get32(sz);
    }
    return 0;
}

static int chunked(char op, uint32_t addr, const uint8_t *out, uint8_t *in, size_t len)
{
    while (len > 0) {
        uint32_t n = len < MAX_CHUNK ? (uint32_t)len : MAX_CHUNK;
        if (rpc(op, addr, n, out, in) != 0) return -1;
        addr += n;
        if (out != NULL) out += n;
        if (in != NULL) in += n;
        len -= n;
    }
    return 0;
}

static bool in_part(uint32_t off, size_t len) { return off <= s_part_size && len <= s_part_size - off; }

static int svc_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    if (!in_part(off, len)) return -1;
    pthread_mutex_lock(&s_mu);
    int rc = chunked('R', s_part_off + off, NULL, buf, len);
    pthread_mutex_unlock(&s_mu);
    return rc;
}

/* Counts a mutation; true when this one is the injected power cut. */
static bool cut_now(void) { return s_crash_after > 0 && ++s_mutations == s_crash_after; }

static void power_cut(void) { _exit(RSAGEN_FLASH_POSIX_EXIT_POWER_CUT); }

static int svc_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
    (void)ctx;
    if (!in_part(off, len)) return -1;
    pthread_mutex_lock(&s_mu);
    if (cut_now()) {
        (void)chunked('W', s_part_off + off, buf, NULL, len / 2u);
        power_cut();
    }
    int rc = chunked('W', s_part_off + off, buf, NULL, len);
    pthread_mutex_unlock(&s_mu);
    return rc;
}

static int svc_erase(void *ctx, uint32_t off, size_t len)
{
    (void)ctx;
    if (!in_part(off, len) || off % RSAGEN_FLASH_SECTOR != 0 || len % RSAGEN_FLASH_SECTOR != 0) return -1;
    pthread_mutex_lock(&s_mu);
    if (cut_now()) {
        (void)rpc('T', s_part_off + off, (uint32_t)(len / 2u), NULL, NULL);
        power_cut();
    }
    int rc = rpc('E', s_part_off + off, (uint32_t)len, NULL, NULL);
    pthread_mutex_unlock(&s_mu);
    return rc;
}

/* Finds the key partition in the table, as esp_partition_find_first does. */
static void find_partition(void)
{
    static uint8_t table[TABLE_MAX];
    s_part_found = false;
    if (chunked('R', RSAGEN_FLASH_POSIX_TABLE_OFFSET, NULL, table, sizeof table) != 0) return;
    for (size_t at = 0; at + ENTRY_LEN <= sizeof table; at += ENTRY_LEN) {
        const uint8_t *e = table + at;
        if (e[0] != 0xAA || e[1] != 0x50) break; /* 0xEBEB (MD5) or 0xFFFF (end) */
        char label[17];
        memcpy(label, e + 12, 16);
        label[16] = '\0';
        if (e[2] != RSAGEN_FLASH_KEYS_TYPE || e[3] != RSAGEN_FLASH_KEYS_SUBTYPE ||
            strcmp(label, RSAGEN_FLASH_KEYS_LABEL) != 0) {
            continue;
        }
        uint32_t off = get32(e + 4), size = get32(e + 8);
        if (off % RSAGEN_FLASH_SECTOR != 0 || off > s_flash_size || size > s_flash_size - off) return;
        s_part_off = off;
        s_part_size = size / RSAGEN_FLASH_SECTOR * RSAGEN_FLASH_SECTOR;
        s_part_found = true;
        return;
    }
}

int rsagen_flash_posix_attach(int fd)
{
    pthread_mutex_lock(&s_mu);
    s_fd = fd;
    const char *crash = getenv("RSAGEN_FW_CRASH_AFTER_FLASH_WRITES");
    s_crash_after = crash != NULL ? strtol(crash, NULL, 10) : 0;
    s_mutations = 0;
    int rc = rpc('I', 0, 0, NULL, NULL);
    if (rc == 0) find_partition();
    else s_fd = -1;
    pthread_mutex_unlock(&s_mu);
    return rc;
}

void rsagen_flash_posix_use(const rsagen_flash_t *keys) { s_override = keys; }

int rsagen_os_flash_keys_open(rsagen_flash_t *out)
{
    if (s_override != NULL) {
        *out = *s_override;
        return 0;
    }
    if (s_fd < 0 || !s_part_found) return -1;
    /* Flash encryption is never on here, so the partition is plain (esp_partition ignores the
     * encrypted flag then): the raw functions are the same functions. */
    *out = (rsagen_flash_t){
        .ctx = NULL,
        .size = s_part_size,
        .encrypted = false,
        .read = svc_read,
        .read_raw = svc_read,
        .write = svc_write,
        .write_raw = svc_write,
        .erase = svc_erase,
    };
    return 0;
}

bool rsagen_os_flash_encryption_enabled(void) { return false; }

bool rsagen_os_secure_boot_enabled(void) { return false; }
