/*
 * Key slots: named private keys kept in a raw flash partition with a power-cut-safe record format
 * (docs/key-slots.md has the format, the argument, and what delete does and does not guarantee).
 *
 * One record per 4 KiB sector:
 *   off 0     header, 64 bytes: magic "rsks", format version 1, kind, key type, name, seq, bits,
 *             lengths of the private key (PKCS#1 RSAPrivateKey DER) and public key (SPKI DER)
 *   off 64    the private key DER, then the public key DER, padded with 0xFF to 32 bytes
 *   off 4064  commit block, 32 bytes: magic "CMIT", CRC-32 of header + keys, seq, body length
 * Written in NOR order: the body first, the commit block last, so a record is valid only if its
 * every byte was written. The newest valid record (highest seq) per name wins. A record is made
 * invalid by programming its commit block to zero (NOR can always clear bits), then its whole body
 * to zero, then its sector is erased; sectors are erased only when they hold no live record.
 *
 * Portable C over rsagen_flash_t (no allocation, no OS calls); single owner, not thread-safe.
 */
#ifndef RSAGEN_SLOTS_H
#define RSAGEN_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsagen_flash.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RSAGEN_SLOT_NAME_MAX 31u
/* Sectors the index can track: a 128 KiB partition. More are ignored (and not touched). */
#define RSAGEN_SLOTS_MAX_SECTORS 32u

/* Record layout (see above). */
#define RSAGEN_SLOTS_MAGIC 0x736B7372u        /* "rsks" */
#define RSAGEN_SLOTS_COMMIT_MAGIC 0x54494D43u /* "CMIT" */
#define RSAGEN_SLOTS_FORMAT 1u
#define RSAGEN_SLOTS_HEADER_LEN 64u
#define RSAGEN_SLOTS_COMMIT_OFF (RSAGEN_FLASH_SECTOR - 32u) /* 4064 */
#define RSAGEN_SLOTS_COMMIT_LEN 32u
#define RSAGEN_SLOTS_ALIGN 32u /* every write: flash encryption needs 16, the ESP32's AES block pair 32 */
#define RSAGEN_SLOTS_MAX_PAYLOAD (RSAGEN_SLOTS_COMMIT_OFF - RSAGEN_SLOTS_HEADER_LEN) /* 4000 */

#define RSAGEN_SLOT_KIND_KEY 1u
#define RSAGEN_SLOT_KEY_RSA 1u

typedef enum {
    SLOTS_OK = 0,
    SLOTS_E_NOT_FOUND,   /* no live record of that name */
    SLOTS_E_EXISTS,      /* a record of that name exists and replace was not asked for */
    SLOTS_E_FULL,        /* no free sector (a new name also needs one spare for later replaces) */
    SLOTS_E_BAD_NAME,    /* 1..31 of [A-Za-z0-9._-], starting with a letter or digit */
    SLOTS_E_TOO_BIG,     /* keys longer than RSAGEN_SLOTS_MAX_PAYLOAD, or a buffer too small */
    SLOTS_E_IO,          /* a flash operation failed, or a written record did not read back valid */
    SLOTS_E_NO_STORAGE,  /* not mounted: no partition, or it is smaller than two sectors */
} rsagen_slots_status_t;

/* Sector states in the index. */
typedef enum {
    SLOT_SECTOR_ERASED = 0, /* all 0xFF: free */
    SLOT_SECTOR_VALID,      /* a complete record (live, or an older one not yet reclaimed) */
    SLOT_SECTOR_GARBAGE,    /* anything else: a torn write or erase, a zeroized record */
    SLOT_SECTOR_FOREIGN,    /* a record of a newer format version: left alone, counted as used */
} rsagen_slot_sector_state_t;

typedef struct {
    uint8_t state; /* rsagen_slot_sector_state_t */
    uint8_t key_type;
    uint8_t name_len;
    uint8_t reserved;
    uint16_t bits;
    uint16_t priv_len;
    uint16_t pub_len;
    uint16_t reserved2;
    uint32_t seq;
    char name[RSAGEN_SLOT_NAME_MAX + 1]; /* NUL-terminated */
} rsagen_slot_meta_t;

typedef struct {
    char name[RSAGEN_SLOT_NAME_MAX + 1];
    uint8_t key_type;
    uint16_t bits;
    uint16_t priv_len;
    uint16_t pub_len;
    uint32_t seq;
    unsigned sector;
} rsagen_slot_info_t;

/* What mount found and did (logged, and checked by the tests). */
typedef struct {
    unsigned valid, erased, garbage, foreign;
    unsigned reclaimed; /* superseded records and garbage sectors scrubbed and erased */
    unsigned failed;    /* scrubs/erases that failed (the sector stays unusable until the next mount) */
} rsagen_slots_mount_stats_t;

typedef struct {
    rsagen_flash_t flash;
    bool mounted;
    unsigned sectors;
    unsigned last_written;
    uint32_t max_seq;
    rsagen_slot_meta_t meta[RSAGEN_SLOTS_MAX_SECTORS];
    rsagen_slots_mount_stats_t stats;
    uint8_t scratch[256];
} rsagen_slots_t;

/* True if name[0..len) is a valid slot name. */
bool rsagen_slot_name_valid(const char *name, size_t len);

/* Scans the partition, builds the index, reclaims superseded records and garbage sectors. Also
 * the recovery after a power cut: whatever a cut left is either a complete record or garbage. */
rsagen_slots_status_t rsagen_slots_mount(rsagen_slots_t *s, const rsagen_flash_t *flash);

/* Live slots, and how many more new names fit (one sector stays spare for replaces). */
unsigned rsagen_slots_count(const rsagen_slots_t *s);
unsigned rsagen_slots_capacity(const rsagen_slots_t *s);
unsigned rsagen_slots_free(const rsagen_slots_t *s);

/* The index-th live slot in name order (strcmp), for listing. false past the end. */
bool rsagen_slots_at(const rsagen_slots_t *s, unsigned index, rsagen_slot_info_t *out);

rsagen_slots_status_t rsagen_slots_find(const rsagen_slots_t *s, const char *name, rsagen_slot_info_t *out);

/* Reads a slot's public (SPKI DER) or private (PKCS#1 DER) key into buf, checking the record's
 * CRC again. The caller zeroizes a private key when done. */
rsagen_slots_status_t rsagen_slots_read_pub(rsagen_slots_t *s, const char *name, uint8_t *buf, size_t cap,
                                            size_t *len);
rsagen_slots_status_t rsagen_slots_read_priv(rsagen_slots_t *s, const char *name, uint8_t *buf, size_t cap,
                                             size_t *len);

/* Checks whether a store of this name would be accepted now (name, exists/replace, free space),
 * without writing: the KEEP request is refused up front rather than after a long generation. */
rsagen_slots_status_t rsagen_slots_check_store(const rsagen_slots_t *s, const char *name, bool replace);

/* Writes a new record for name; with replace, an existing record of that name is then zeroized
 * and erased. Either the old state or the new one survives a power cut at any point. */
rsagen_slots_status_t rsagen_slots_store(rsagen_slots_t *s, const char *name, uint8_t key_type, uint16_t bits,
                                         const uint8_t *priv, size_t priv_len, const uint8_t *pub,
                                         size_t pub_len, bool replace);

/* Zeroizes (commit block first, then the body) and erases the slot's record. */
rsagen_slots_status_t rsagen_slots_delete(rsagen_slots_t *s, const char *name, uint32_t *seq);

/* CRC-32 (IEEE 802.3, as zlib crc32()) used by the records. */
uint32_t rsagen_slots_crc32(uint32_t crc, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* RSAGEN_SLOTS_H */
