/*
 * rsagen device protocol: frame codec and message layout constants.
 *
 * The specification is docs/protocol.md; this header mirrors it. Frames share the console UART
 * with ESP-IDF log text, so the decoder hands out both valid frames and the non-frame bytes.
 * No malloc anywhere: the decoder owns one fixed buffer of RSAGEN_PROTO_MAX_FRAME bytes.
 *
 * Frame (all fields little-endian):
 *   off 0  u8   sync0 = 0xC1      (0xC1 and 0xF5 never occur in well-formed UTF-8, RFC 3629 s.1)
 *   off 1  u8   sync1 = 0xF5
 *   off 2  u8   version           (RSAGEN_PROTO_VERSION; 0 is invalid)
 *   off 3  u8   type              (bit 7 = response flag)
 *   off 4  u16  request id        (0 = device event)
 *   off 6  u16  payload length    (<= RSAGEN_PROTO_MAX_PAYLOAD)
 *   off 8  u8   header check      (CRC-8/SMBUS, poly 0x07, init 0, over bytes 2..7)
 *   off 9  ...  payload
 *   then   u32  CRC-32 (IEEE 802.3 as zlib) over every byte before it (sync .. end of payload)
 */
#ifndef RSAGEN_PROTO_H
#define RSAGEN_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Frame format ------------------------------------------------------------------------- */

#define RSAGEN_PROTO_VERSION 1
#define RSAGEN_PROTO_SYNC0 0xC1
#define RSAGEN_PROTO_SYNC1 0xF5
#define RSAGEN_PROTO_HEADER_LEN 9
#define RSAGEN_PROTO_CRC_LEN 4
#define RSAGEN_PROTO_OVERHEAD (RSAGEN_PROTO_HEADER_LEN + RSAGEN_PROTO_CRC_LEN) /* 13 */
#define RSAGEN_PROTO_MAX_PAYLOAD 1024
#define RSAGEN_PROTO_MAX_FRAME (RSAGEN_PROTO_OVERHEAD + RSAGEN_PROTO_MAX_PAYLOAD) /* 1037 */
#define RSAGEN_PROTO_RESPONSE_FLAG 0x80

/* ---- Message types (requests; a response has the same type | RSAGEN_PROTO_RESPONSE_FLAG) ---- */

#define RSAGEN_MSG_HELLO 0x01
#define RSAGEN_MSG_PING 0x02
#define RSAGEN_MSG_KEYGEN 0x03
#define RSAGEN_MSG_STATUS 0x04
#define RSAGEN_MSG_CANCEL 0x05
#define RSAGEN_MSG_READ 0x06
#define RSAGEN_MSG_RELEASE 0x07
#define RSAGEN_MSG_REBOOT 0x08
/* Key slots (docs/protocol.md section 3, "Key slots"; docs/key-slots.md). */
#define RSAGEN_MSG_SLOT_LIST 0x09
#define RSAGEN_MSG_SLOT_INFO 0x0A
#define RSAGEN_MSG_SLOT_DELETE 0x0B
#define RSAGEN_MSG_KEEP 0x0C
#define RSAGEN_MSG_CSR 0x0D
#define RSAGEN_MSG_SIGN 0x0E
/* Generic error answer to any request: sent as type (RSAGEN_MSG_ERROR | RESPONSE_FLAG) = 0xFF. */
#define RSAGEN_MSG_ERROR 0x7F

/* Device events: request id 0, response flag clear. */
#define RSAGEN_EVT_BOOT 0x40
#define RSAGEN_EVT_PROGRESS 0x41
#define RSAGEN_EVT_DONE 0x42
#define RSAGEN_EVT_FAILED 0x43

/* ---- Error codes (u16 in the ERROR payload) ------------------------------------------------ */

#define RSAGEN_ERR_UNKNOWN_TYPE 1 /* request type not known to this firmware */
#define RSAGEN_ERR_BAD_ARGS 2     /* payload too short or a field out of range */
#define RSAGEN_ERR_BUSY 3         /* a job exists (running, or finished and not released) */
#define RSAGEN_ERR_NO_MEM 4       /* output buffers or the task could not be allocated */
#define RSAGEN_ERR_UNSUPPORTED 5  /* feature compiled out (crypto-extra off), bits, download reboot */
#define RSAGEN_ERR_NO_JOB 6       /* READ with no job */
#define RSAGEN_ERR_NOT_READY 7    /* READ while the job is not in state DONE */
#define RSAGEN_ERR_RANGE 8        /* READ offset beyond the part's length */
#define RSAGEN_ERR_VERSION 9      /* request frame carried another protocol version */
#define RSAGEN_ERR_INTERNAL 10    /* anything else (a bug) */
#define RSAGEN_ERR_SLOT_NOT_FOUND 11 /* no key slot of that name */
#define RSAGEN_ERR_SLOT_EXISTS 12    /* KEEP on an existing slot without the replace flag */
#define RSAGEN_ERR_SLOTS_FULL 13     /* no room in the key partition for another slot */
#define RSAGEN_ERR_NO_STORAGE 14     /* no key partition in this flash (or it is too small) */
#define RSAGEN_ERR_NOT_ALLOWED 15    /* READ of the private key of a kept key */
#define RSAGEN_ERR_STORAGE 16        /* a flash write failed or did not read back */

/* ---- Job states --------------------------------------------------------------------------- */

#define RSAGEN_STATE_IDLE 0
#define RSAGEN_STATE_RUNNING 1
#define RSAGEN_STATE_DONE 2
#define RSAGEN_STATE_FAILED 3
#define RSAGEN_STATE_CANCELLED 4

/* ---- Feature bits (HELLO.features, BOOT.features) ----------------------------------------- */

#define RSAGEN_FEAT_CRYPTO_EXTRA (1u << 0)    /* keygen compiled in */
#define RSAGEN_FEAT_HW_MPI (1u << 1)          /* MBEDTLS_HARDWARE_MPI enabled */
#define RSAGEN_FEAT_INLINE_KEYGEN (1u << 2)   /* negative control: keygen runs in the command loop */
#define RSAGEN_FEAT_HOST_BUILD (1u << 3)      /* POSIX host build (virtual board) */
#define RSAGEN_FEAT_DOWNLOAD_REBOOT (1u << 4) /* REBOOT mode DOWNLOAD is supported */
#define RSAGEN_FEAT_KEY_SLOTS (1u << 5)       /* KEEP, SLOT_*, SIGN compiled in (CONFIG_RSAGEN_KEY_SLOTS) */
#define RSAGEN_FEAT_SLOT_CSR (1u << 6)        /* CSR compiled in (CONFIG_RSAGEN_SLOT_CSR) */

/* ---- Storage flags (HELLO after the strings, SLOT_LIST) ----------------------------------- */

#define RSAGEN_STORE_FLASH_ENCRYPTION (1u << 0) /* the chip runs with flash encryption */
#define RSAGEN_STORE_PARTITION (1u << 1)        /* a key partition was found and mounted */
#define RSAGEN_STORE_ENCRYPTED (1u << 2)        /* the key partition is read/written encrypted */
#define RSAGEN_STORE_SECURE_BOOT (1u << 3)      /* secure boot is enabled */

/* ---- Job kinds (STATUS.kind) ------------------------------------------------------------- */

#define RSAGEN_JOB_KEYGEN 0 /* KEYGEN: both key parts readable */
#define RSAGEN_JOB_KEEP 1   /* KEEP: stored in a slot; only the public key is readable */
#define RSAGEN_JOB_CSR 2    /* CSR: output = PKCS#10 DER */
#define RSAGEN_JOB_SIGN 3   /* SIGN: output = the signature */

/* ---- Key parts and reboot modes ----------------------------------------------------------- */

#define RSAGEN_PART_PRIV 0 /* private key, DER PKCS#1 RSAPrivateKey */
#define RSAGEN_PART_PUB 1  /* public key, DER SubjectPublicKeyInfo */
#define RSAGEN_PART_OUTPUT 2 /* a CSR or SIGN job's output */

#define RSAGEN_REBOOT_NORMAL 0
#define RSAGEN_REBOOT_DOWNLOAD 1

/* ---- Payload layouts (byte offsets; strings are u8 length + bytes, no NUL) ----------------- */

/* HELLO request: empty (trailing bytes ignored). HELLO response: */
#define RSAGEN_HELLO_OFF_PROTO_VERSION 0   /* u8 */
#define RSAGEN_HELLO_OFF_JOB_STATE 1       /* u8 RSAGEN_STATE_* */
#define RSAGEN_HELLO_OFF_FEATURES 2        /* u16 RSAGEN_FEAT_* */
#define RSAGEN_HELLO_OFF_MIN_BITS 4        /* u16 */
#define RSAGEN_HELLO_OFF_MAX_BITS 6        /* u16 */
#define RSAGEN_HELLO_OFF_MBEDTLS_VERSION 8 /* u32 MBEDTLS_VERSION_NUMBER, e.g. 0x03060700 */
#define RSAGEN_HELLO_OFF_FREE_HEAP 12      /* u32 bytes */
#define RSAGEN_HELLO_OFF_LARGEST_BLOCK 16  /* u32 bytes */
#define RSAGEN_HELLO_OFF_WDT_TIMEOUT_MS 20 /* u32 */
#define RSAGEN_HELLO_OFF_STRINGS 24        /* str fw_version, str target, str idf_version, str mbedtls_version */
#define RSAGEN_HELLO_FIXED_LEN 24
#define RSAGEN_HELLO_MAX_STRING 63
/* After the four strings (absent from firmware before key slots): */
#define RSAGEN_HELLO_TAIL_OFF_STORE_FLAGS 0 /* u16 RSAGEN_STORE_* */
#define RSAGEN_HELLO_TAIL_OFF_SLOTS_USED 2  /* u8 */
#define RSAGEN_HELLO_TAIL_OFF_SLOTS_CAP 3   /* u8 */
#define RSAGEN_HELLO_TAIL_OFF_RESET_REASON 4 /* u32 esp_reset_reason_t of the last reset */
#define RSAGEN_HELLO_TAIL_LEN 8

/* PING: request payload is 0..RSAGEN_PROTO_MAX_PAYLOAD arbitrary bytes; the response echoes them. */

/* KEYGEN request: */
#define RSAGEN_KEYGEN_OFF_BITS 0     /* u16, 1024..4096, multiple of 8 (firmware may narrow: min/max bits) */
#define RSAGEN_KEYGEN_OFF_RESERVED 2 /* u16, 0 */
#define RSAGEN_KEYGEN_OFF_EXPONENT 4 /* u32, odd, >= 3 */
#define RSAGEN_KEYGEN_REQ_LEN 8
/* KEYGEN response (accepted): */
#define RSAGEN_KEYGEN_RESP_OFF_JOB_ID 0 /* u32, never 0 */
#define RSAGEN_KEYGEN_RESP_LEN 4

/* STATUS request: empty. STATUS response, and the payload of the DONE and FAILED events: */
#define RSAGEN_STATUS_OFF_STATE 0        /* u8 RSAGEN_STATE_* */
#define RSAGEN_STATUS_OFF_RESERVED 1     /* u8, 0 */
#define RSAGEN_STATUS_OFF_BITS 2         /* u16 (0 when idle) */
#define RSAGEN_STATUS_OFF_JOB_ID 4       /* u32 (0 when idle) */
#define RSAGEN_STATUS_OFF_EXPONENT 8     /* u32 */
#define RSAGEN_STATUS_OFF_ELAPSED_MS 12  /* u32 since the task started; frozen when it ended */
#define RSAGEN_STATUS_OFF_RNG_CALLS 16   /* u32 */
#define RSAGEN_STATUS_OFF_MBEDTLS_ERR 20 /* i32, 0 unless FAILED */
#define RSAGEN_STATUS_OFF_PRIV_LEN 24    /* u32, 0 unless DONE */
#define RSAGEN_STATUS_OFF_PUB_LEN 28     /* u32, 0 unless DONE */
#define RSAGEN_STATUS_OFF_PRIV_SHA256 32 /* 32 bytes, zero unless DONE */
#define RSAGEN_STATUS_OFF_PUB_SHA256 64  /* 32 bytes, zero unless DONE */
/* Added with key slots (older firmware sends the first 96 bytes only): */
#define RSAGEN_STATUS_OFF_KIND 96        /* u8 RSAGEN_JOB_* */
#define RSAGEN_STATUS_OFF_RESERVED2 97   /* u8 + u16, 0 */
#define RSAGEN_STATUS_OFF_OUT_LEN 100    /* u32 output length (CSR, SIGN; 0 unless DONE) */
#define RSAGEN_STATUS_OFF_OUT_SHA256 104 /* 32 bytes, zero unless DONE */
#define RSAGEN_STATUS_LEN 136
#define RSAGEN_STATUS_V1_LEN 96

/* PROGRESS event: */
#define RSAGEN_PROGRESS_OFF_JOB_ID 0     /* u32 */
#define RSAGEN_PROGRESS_OFF_ELAPSED_MS 4 /* u32 */
#define RSAGEN_PROGRESS_OFF_RNG_CALLS 8  /* u32 */
#define RSAGEN_PROGRESS_OFF_BITS 12      /* u16 */
#define RSAGEN_PROGRESS_OFF_RESERVED 14  /* u16, 0 */
#define RSAGEN_PROGRESS_LEN 16
#define RSAGEN_PROGRESS_INTERVAL_MS 500

/* CANCEL and RELEASE requests: empty. Their responses: */
#define RSAGEN_JOBEND_OFF_PREV_STATE 0 /* u8 state before the request (IDLE: there was no job) */
#define RSAGEN_JOBEND_OFF_RESERVED 1   /* u8 + u16, 0 */
#define RSAGEN_JOBEND_OFF_JOB_ID 4     /* u32 job released (0 if none) */
#define RSAGEN_JOBEND_LEN 8

/* READ request: */
#define RSAGEN_READ_OFF_PART 0     /* u8 RSAGEN_PART_* */
#define RSAGEN_READ_OFF_RESERVED 1 /* u8, 0 */
#define RSAGEN_READ_OFF_LENGTH 2   /* u16, 1..RSAGEN_READ_MAX_CHUNK */
#define RSAGEN_READ_OFF_OFFSET 4   /* u32 */
#define RSAGEN_READ_REQ_LEN 8
/* READ response: the same 8-byte header (length = bytes actually returned), then the bytes. */
#define RSAGEN_READ_RESP_HEADER_LEN 8
#define RSAGEN_READ_MAX_CHUNK (RSAGEN_PROTO_MAX_PAYLOAD - RSAGEN_READ_RESP_HEADER_LEN) /* 1016 */

/* Slot names: u8 length (1..31) then [A-Za-z0-9._-], the first a letter or digit. */
#define RSAGEN_SLOT_NAME_MAX_LEN 31

/* SLOT_LIST request: */
#define RSAGEN_SLOTLIST_OFF_FIRST 0 /* u8 index of the first slot wanted (name order) */
#define RSAGEN_SLOTLIST_REQ_LEN 1
/* SLOT_LIST response: 12 fixed bytes, then `count` entries. */
#define RSAGEN_SLOTLIST_OFF_TOTAL 0       /* u8 live slots */
#define RSAGEN_SLOTLIST_OFF_FIRST_ECHO 1  /* u8 */
#define RSAGEN_SLOTLIST_OFF_COUNT 2       /* u8 entries in this answer */
#define RSAGEN_SLOTLIST_OFF_RESERVED 3    /* u8, 0 */
#define RSAGEN_SLOTLIST_OFF_FLAGS 4       /* u16 RSAGEN_STORE_* */
#define RSAGEN_SLOTLIST_OFF_CAPACITY 6    /* u8 slots the partition holds */
#define RSAGEN_SLOTLIST_OFF_FREE 7        /* u8 new slots that still fit */
#define RSAGEN_SLOTLIST_OFF_PART_SIZE 8   /* u32 partition bytes */
#define RSAGEN_SLOTLIST_FIXED_LEN 12
/* Entry: u8 key type (1 RSA), u8 reserved, u16 bits, u16 public key DER length, u16 reserved,
 * u32 record sequence number, str name. */
#define RSAGEN_SLOTENT_OFF_KEY_TYPE 0
#define RSAGEN_SLOTENT_OFF_BITS 2
#define RSAGEN_SLOTENT_OFF_PUB_LEN 4
#define RSAGEN_SLOTENT_OFF_SEQ 8
#define RSAGEN_SLOTENT_OFF_NAME 12
#define RSAGEN_SLOTENT_FIXED_LEN 12

/* SLOT_INFO and SLOT_DELETE requests: str name. */
/* SLOT_INFO response: */
#define RSAGEN_SLOTINFO_OFF_KEY_TYPE 0 /* u8 */
#define RSAGEN_SLOTINFO_OFF_BITS 2     /* u16 */
#define RSAGEN_SLOTINFO_OFF_SEQ 4      /* u32 */
#define RSAGEN_SLOTINFO_OFF_PUB_LEN 8  /* u16 */
#define RSAGEN_SLOTINFO_OFF_PUB_SHA256 12 /* 32 bytes */
#define RSAGEN_SLOTINFO_OFF_NAME 44    /* str name, then the public key DER (pub_len bytes) */
#define RSAGEN_SLOTINFO_FIXED_LEN 44
/* SLOT_DELETE response: u32 sequence number of the deleted record, then str name. */
#define RSAGEN_SLOTDEL_OFF_SEQ 0
#define RSAGEN_SLOTDEL_OFF_NAME 4
#define RSAGEN_SLOTDEL_FIXED_LEN 4

/* KEEP request (response as KEYGEN: u32 job id): */
#define RSAGEN_KEEP_OFF_BITS 0     /* u16 */
#define RSAGEN_KEEP_OFF_RESERVED 2 /* u16, 0 */
#define RSAGEN_KEEP_OFF_EXPONENT 4 /* u32 */
#define RSAGEN_KEEP_OFF_FLAGS 8    /* u8: bit 0 = replace an existing slot */
#define RSAGEN_KEEP_OFF_NAME 12    /* after 3 reserved bytes: str name */
#define RSAGEN_KEEP_FIXED_LEN 12
#define RSAGEN_KEEP_FLAG_REPLACE 0x01

/* CSR request (response: u32 job id): */
#define RSAGEN_CSR_OFF_MD 0          /* u8 0 = SHA-256 */
#define RSAGEN_CSR_OFF_RESERVED 1    /* u8, 0 */
#define RSAGEN_CSR_OFF_SUBJECT_LEN 2 /* u16, 1..RSAGEN_CSR_MAX_SUBJECT */
#define RSAGEN_CSR_OFF_NAME 4        /* str name, subject bytes, u8 SAN count, SANs */
#define RSAGEN_CSR_FIXED_LEN 4
#define RSAGEN_CSR_MAX_SUBJECT 512
#define RSAGEN_CSR_MAX_SANS 16
/* SAN: u8 type, u8 length (1..253), bytes. Types are GeneralName tags (RFC 5280 4.2.1.6). */
#define RSAGEN_SAN_EMAIL 1 /* rfc822Name, ASCII */
#define RSAGEN_SAN_DNS 2   /* dNSName, ASCII */
#define RSAGEN_SAN_URI 6   /* uniformResourceIdentifier, ASCII */
#define RSAGEN_SAN_IP 7    /* iPAddress, 4 or 16 bytes */

/* SIGN request (response: u32 job id): */
#define RSAGEN_SIGN_OFF_SCHEME 0   /* u8 RSAGEN_SIGN_* */
#define RSAGEN_SIGN_OFF_HASH 1     /* u8 0 = SHA-256 */
#define RSAGEN_SIGN_OFF_RESERVED 2 /* u16, 0 */
#define RSAGEN_SIGN_OFF_DIGEST 4   /* 32 bytes: SHA-256 of the data */
#define RSAGEN_SIGN_OFF_NAME 36    /* str name */
#define RSAGEN_SIGN_FIXED_LEN 36
#define RSAGEN_SIGN_PKCS1_V15 0 /* RSASSA-PKCS1-v1_5 (RFC 8017 8.2) */
#define RSAGEN_SIGN_PSS 1       /* RSASSA-PSS, MGF1-SHA-256, salt 32 bytes (RFC 8017 8.1) */
#define RSAGEN_HASH_SHA256 0

/* REBOOT request: */
#define RSAGEN_REBOOT_OFF_MODE 0 /* u8 RSAGEN_REBOOT_* */
#define RSAGEN_REBOOT_REQ_LEN 1
/* REBOOT response: empty; sent (and the UART drained) before the chip restarts. */

/* ERROR response (type 0xFF): */
#define RSAGEN_ERROR_OFF_CODE 0         /* u16 RSAGEN_ERR_* */
#define RSAGEN_ERROR_OFF_REQUEST_TYPE 2 /* u8 type of the request being refused */
#define RSAGEN_ERROR_OFF_PROTO_VERSION 3 /* u8 the device's RSAGEN_PROTO_VERSION */
#define RSAGEN_ERROR_OFF_MESSAGE 4      /* ASCII text up to the end of the payload */
#define RSAGEN_ERROR_FIXED_LEN 4
#define RSAGEN_ERROR_MAX_MESSAGE 120

/* BOOT event: */
#define RSAGEN_BOOT_OFF_PROTO_VERSION 0 /* u8 */
#define RSAGEN_BOOT_OFF_RESERVED 1      /* u8, 0 */
#define RSAGEN_BOOT_OFF_FEATURES 2      /* u16 RSAGEN_FEAT_* */
#define RSAGEN_BOOT_OFF_RESET_REASON 4  /* u32 esp_reset_reason_t value */
#define RSAGEN_BOOT_OFF_STRINGS 8       /* str fw_version, str target */
#define RSAGEN_BOOT_FIXED_LEN 8

/* ---- Little-endian helpers ---------------------------------------------------------------- */

static inline void rsagen_put_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void rsagen_put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A protocol string (HELLO, BOOT): a length byte, then the bytes of s cut to
 * RSAGEN_HELLO_MAX_STRING. Returns the bytes written (1 + length). */
static inline size_t rsagen_put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    if (n > RSAGEN_HELLO_MAX_STRING) n = RSAGEN_HELLO_MAX_STRING;
    p[0] = (uint8_t)n;
    memcpy(p + 1, s, n);
    return n + 1;
}

static inline uint16_t rsagen_get_u16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
}

static inline uint32_t rsagen_get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* ---- Checksums ---------------------------------------------------------------------------- */

/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320), same as zlib crc32(): start with crc = 0 and
 * pass the previous result to continue. crc32("123456789") = 0xCBF43926. */
uint32_t rsagen_crc32(uint32_t crc, const uint8_t *data, size_t len);

/* CRC-8/SMBUS (poly 0x07, init 0, no reflection). crc8("123456789") = 0xF4. */
uint8_t rsagen_crc8(const uint8_t *data, size_t len);

/* ---- Encoder ------------------------------------------------------------------------------ */

/* Writes one complete frame into out. Returns the frame length (RSAGEN_PROTO_OVERHEAD + len), or 0
 * if len > RSAGEN_PROTO_MAX_PAYLOAD, out_cap is too small, or payload is NULL with len > 0.
 * payload may not overlap out. On ESP-IDF, send the result with ONE uart_write_bytes() call. */
size_t rsagen_proto_encode(uint8_t *out, size_t out_cap, uint8_t type, uint16_t request_id,
                           const uint8_t *payload, size_t len);

/* Same with an explicit version byte (for version-mismatch tests; version must be non-zero). */
size_t rsagen_proto_encode_version(uint8_t *out, size_t out_cap, uint8_t version, uint8_t type,
                                   uint16_t request_id, const uint8_t *payload, size_t len);

/* ---- Streaming decoder -------------------------------------------------------------------- */

typedef struct {
    uint8_t version;
    uint8_t type; /* includes RSAGEN_PROTO_RESPONSE_FLAG */
    uint16_t request_id;
    uint16_t length;
    const uint8_t *payload; /* valid only during the callback */
} rsagen_frame_t;

/* Called for each valid frame. Must not call rsagen_decoder_feed() on the same decoder. */
typedef void (*rsagen_frame_cb_t)(void *ctx, const rsagen_frame_t *frame);
/* Called with console text: every byte that is not part of a valid frame, in stream order. */
typedef void (*rsagen_text_cb_t)(void *ctx, const uint8_t *bytes, size_t len);

typedef struct {
    uint32_t frames;        /* valid frames delivered */
    uint32_t header_errors; /* sync seen, but version 0, length > max, or header check wrong */
    uint32_t crc_errors;    /* header fine, CRC-32 wrong */
    uint32_t text_bytes;    /* bytes handed out as text */
} rsagen_decoder_stats_t;

typedef struct {
    uint8_t buf[RSAGEN_PROTO_MAX_FRAME]; /* candidate frame; buf[0] is always SYNC0 when n > 0 */
    size_t n;
    rsagen_frame_cb_t on_frame;
    rsagen_text_cb_t on_text;
    void *ctx;
    rsagen_decoder_stats_t stats;
} rsagen_decoder_t;

/* on_frame and on_text may be NULL (events are then dropped, still counted). */
void rsagen_decoder_init(rsagen_decoder_t *d, rsagen_frame_cb_t on_frame, rsagen_text_cb_t on_text,
                         void *ctx);

/* Feeds bytes; callbacks run synchronously from inside this call. */
void rsagen_decoder_feed(rsagen_decoder_t *d, const uint8_t *bytes, size_t len);

/* Hands any partial candidate frame out as text (for end of stream or an idle line) and resets. */
void rsagen_decoder_flush(rsagen_decoder_t *d);

#ifdef __cplusplus
}
#endif

#endif /* RSAGEN_PROTO_H */
