/*
 * rsagen device protocol frame codec (spec: docs/protocol.md). No malloc; the decoder works in
 * the caller-provided rsagen_decoder_t. Mirror of src/device/frame.ts.
 */
#include "rsagen_proto.h"

#include <string.h>

/* Reflected CRC-32, poly 0xEDB88320 (IEEE 802.3 / zlib). Table built on first use: 1 KiB of RAM
 * instead of code, and 8x faster than bitwise, which matters for 1 KiB frames at line rate. */
static uint32_t crc32_table[256];
static int crc32_table_ready;

static void crc32_init_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1u) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
        }
        crc32_table[i] = c;
    }
    crc32_table_ready = 1;
}

uint32_t rsagen_crc32(uint32_t crc, const uint8_t *data, size_t len)
{
    if (!crc32_table_ready) {
        crc32_init_table(); /* idempotent: a racing second init writes the same values */
    }
    uint32_t c = ~crc;
    for (size_t i = 0; i < len; i++) {
        c = crc32_table[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
    }
    return ~c;
}

uint8_t rsagen_crc8(const uint8_t *data, size_t len)
{
    uint8_t c = 0;
    for (size_t i = 0; i < len; i++) {
        c = (uint8_t)(c ^ data[i]);
        for (int k = 0; k < 8; k++) {
            c = (uint8_t)((c & 0x80u) ? ((unsigned)c << 1) ^ 0x07u : (unsigned)c << 1);
        }
    }
    return c;
}

size_t rsagen_proto_encode_version(uint8_t *out, size_t out_cap, uint8_t version, uint8_t type,
                                   uint16_t request_id, const uint8_t *payload, size_t len)
{
    if (out == NULL || version == 0 || len > RSAGEN_PROTO_MAX_PAYLOAD || (payload == NULL && len > 0)) {
        return 0;
    }
    size_t total = RSAGEN_PROTO_OVERHEAD + len;
    if (out_cap < total) {
        return 0;
    }
    out[0] = RSAGEN_PROTO_SYNC0;
    out[1] = RSAGEN_PROTO_SYNC1;
    out[2] = version;
    out[3] = type;
    rsagen_put_u16le(&out[4], request_id);
    rsagen_put_u16le(&out[6], (uint16_t)len);
    out[8] = rsagen_crc8(&out[2], 6);
    if (len > 0) {
        memcpy(&out[RSAGEN_PROTO_HEADER_LEN], payload, len);
    }
    size_t end = RSAGEN_PROTO_HEADER_LEN + len;
    rsagen_put_u32le(&out[end], rsagen_crc32(0, out, end));
    return total;
}

size_t rsagen_proto_encode(uint8_t *out, size_t out_cap, uint8_t type, uint16_t request_id,
                           const uint8_t *payload, size_t len)
{
    return rsagen_proto_encode_version(out, out_cap, RSAGEN_PROTO_VERSION, type, request_id, payload, len);
}

void rsagen_decoder_init(rsagen_decoder_t *d, rsagen_frame_cb_t on_frame, rsagen_text_cb_t on_text,
                         void *ctx)
{
    memset(d, 0, sizeof(*d));
    d->on_frame = on_frame;
    d->on_text = on_text;
    d->ctx = ctx;
}

enum verdict { NEED_MORE, IS_FRAME, REJECT_TEXT, REJECT_HEADER, REJECT_CRC };

/* Judges the buffered candidate from scratch. Cheap except for the CRC-32, which runs only once
 * the whole frame is in (or during a rescan). */
static enum verdict check_candidate(const rsagen_decoder_t *d)
{
    const uint8_t *b = d->buf;
    size_t n = d->n;
    if (b[0] != RSAGEN_PROTO_SYNC0) {
        return REJECT_TEXT;
    }
    if (n < 2) {
        return NEED_MORE;
    }
    if (b[1] != RSAGEN_PROTO_SYNC1) {
        return REJECT_TEXT;
    }
    if (n < RSAGEN_PROTO_HEADER_LEN) {
        return NEED_MORE;
    }
    uint16_t len = rsagen_get_u16le(&b[6]);
    if (b[2] == 0 || len > RSAGEN_PROTO_MAX_PAYLOAD || rsagen_crc8(&b[2], 6) != b[8]) {
        return REJECT_HEADER;
    }
    size_t end = RSAGEN_PROTO_HEADER_LEN + (size_t)len;
    if (n < end + RSAGEN_PROTO_CRC_LEN) {
        return NEED_MORE;
    }
    if (rsagen_crc32(0, b, end) != rsagen_get_u32le(&b[end])) {
        return REJECT_CRC;
    }
    return IS_FRAME;
}

static void consume(rsagen_decoder_t *d, size_t k)
{
    memmove(d->buf, d->buf + k, d->n - k);
    d->n -= k;
}

static void emit_text(rsagen_decoder_t *d, const uint8_t *bytes, size_t len)
{
    d->stats.text_bytes += (uint32_t)len;
    if (d->on_text != NULL && len > 0) {
        d->on_text(d->ctx, bytes, len);
    }
}

/* The candidate's first byte is text; so is everything up to the next SYNC0, where scanning resumes. */
static void reject_first(rsagen_decoder_t *d)
{
    size_t k = 1;
    while (k < d->n && d->buf[k] != RSAGEN_PROTO_SYNC0) {
        k++;
    }
    emit_text(d, d->buf, k);
    consume(d, k);
}

static void process(rsagen_decoder_t *d, int flushing)
{
    while (d->n > 0) {
        enum verdict v = check_candidate(d);
        if (v == NEED_MORE) {
            if (!flushing) {
                return;
            }
            reject_first(d);
        } else if (v == IS_FRAME) {
            rsagen_frame_t f;
            f.version = d->buf[2];
            f.type = d->buf[3];
            f.request_id = rsagen_get_u16le(&d->buf[4]);
            f.length = rsagen_get_u16le(&d->buf[6]);
            f.payload = &d->buf[RSAGEN_PROTO_HEADER_LEN];
            d->stats.frames++;
            if (d->on_frame != NULL) {
                d->on_frame(d->ctx, &f);
            }
            consume(d, RSAGEN_PROTO_OVERHEAD + (size_t)f.length);
        } else {
            if (v == REJECT_HEADER) {
                d->stats.header_errors++;
            } else if (v == REJECT_CRC) {
                d->stats.crc_errors++;
            }
            reject_first(d);
        }
    }
}

void rsagen_decoder_feed(rsagen_decoder_t *d, const uint8_t *bytes, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (d->n == 0) {
            /* Outside a candidate: hand out the run of text up to the next SYNC0 in one call. */
            size_t j = i;
            while (j < len && bytes[j] != RSAGEN_PROTO_SYNC0) {
                j++;
            }
            if (j > i) {
                emit_text(d, &bytes[i], j - i);
                i = j;
                continue;
            }
        }
        /* n < MAX_FRAME always holds here: a full-size candidate is judged (frame or reject)
         * as soon as its last byte arrives, which shrinks n. */
        d->buf[d->n++] = bytes[i++];
        process(d, 0);
    }
}

void rsagen_decoder_flush(rsagen_decoder_t *d)
{
    process(d, 1);
}
