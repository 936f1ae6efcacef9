/*
 * Host test runner for the rsagen_proto codec: reads test/vectors/protocol/frames.txt (format at
 * the top of that file), checks every frame and stream vector, plus checksums, encoder limits
 * and a fuzz run. Prints one line per failure and a final "N passed, M failed"; exit 1 on failure.
 * Usage: rsagen_proto_test <path/to/frames.txt> [<path/to/layouts.txt>]
 *        (layouts.txt: the field offsets of the message payloads, checked against the header's
 *        constants on the message vectors of frames.txt)
 *        rsagen_proto_test --decode <stream.bin> <chunk>   (differential testing against the TS
 *        decoder: feeds the file in chunks of <chunk> bytes, flushes, prints merged "text HEX" and
 *        "frame V TT ID HEX" lines and a final "stats F H C T")
 */
#define _POSIX_C_SOURCE 200809L
#include "rsagen_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void result(int ok, const char *what, const char *name)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s: %s\n", what, name);
    }
}

/* ---- decoded output collector: merges adjacent text, records frames in order ---------------- */

typedef struct {
    int is_frame;
    uint8_t version, type;
    uint16_t id;
    uint8_t *data; /* text bytes or payload */
    size_t len;
} item_t;

typedef struct {
    item_t items[512];
    size_t count;
    int overflow;
} collector_t;

static void on_frame(void *ctx, const rsagen_frame_t *f)
{
    collector_t *c = ctx;
    if (c->count == sizeof(c->items) / sizeof(c->items[0])) {
        c->overflow = 1;
        return;
    }
    item_t *it = &c->items[c->count++];
    it->is_frame = 1;
    it->version = f->version;
    it->type = f->type;
    it->id = f->request_id;
    it->len = f->length;
    it->data = malloc(f->length + 1);
    if (f->length > 0) {
        memcpy(it->data, f->payload, f->length);
    }
}

static void on_text(void *ctx, const uint8_t *bytes, size_t len)
{
    collector_t *c = ctx;
    if (c->count > 0 && !c->items[c->count - 1].is_frame) {
        item_t *last = &c->items[c->count - 1];
        last->data = realloc(last->data, last->len + len);
        memcpy(last->data + last->len, bytes, len);
        last->len += len;
        return;
    }
    if (c->count == sizeof(c->items) / sizeof(c->items[0])) {
        c->overflow = 1;
        return;
    }
    item_t *it = &c->items[c->count++];
    memset(it, 0, sizeof(*it));
    it->data = malloc(len);
    memcpy(it->data, bytes, len);
    it->len = len;
}

static void collector_free(collector_t *c)
{
    for (size_t i = 0; i < c->count; i++) {
        free(c->items[i].data);
    }
    c->count = 0;
    c->overflow = 0;
}

/* ---- hex and line parsing ---------------------------------------------------------------- */

static size_t unhex(const char *s, uint8_t **out)
{
    if (strcmp(s, "-") == 0) {
        *out = malloc(1);
        return 0;
    }
    size_t n = strlen(s) / 2;
    *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        (*out)[i] = (uint8_t)v;
    }
    return n;
}

typedef struct {
    uint8_t version, type;
    uint16_t id;
    uint8_t *payload;
    size_t payload_len;
    int is_frame;
} expect_t;

/* ---- checks ------------------------------------------------------------------------------- */

static uint32_t lcg_state;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state;
}

/* mode 0: whole buffer; 1: byte by byte; 2: pseudo-random chunks of 1..97 bytes. */
static void decode(collector_t *c, rsagen_decoder_t *d, const uint8_t *bytes, size_t len, int mode)
{
    rsagen_decoder_init(d, on_frame, on_text, c);
    size_t i = 0;
    lcg_state = 7;
    while (i < len) {
        size_t n = mode == 0 ? len : mode == 1 ? 1 : 1 + lcg() % 97;
        if (n > len - i) {
            n = len - i;
        }
        rsagen_decoder_feed(d, bytes + i, n);
        i += n;
    }
    rsagen_decoder_flush(d);
}

static void check_frame_vector(const char *name, unsigned version, unsigned type, unsigned id,
                               const char *payload_hex, const char *bytes_hex)
{
    uint8_t *payload, *bytes;
    size_t plen = unhex(payload_hex, &payload);
    size_t blen = unhex(bytes_hex, &bytes);
    uint8_t out[RSAGEN_PROTO_MAX_FRAME];
    size_t n = rsagen_proto_encode_version(out, sizeof(out), (uint8_t)version, (uint8_t)type, (uint16_t)id,
                                           payload, plen);
    result(n == blen && memcmp(out, bytes, blen) == 0, "encode", name);

    static collector_t c;
    static rsagen_decoder_t d;
    decode(&c, &d, bytes, blen, 0);
    int ok = c.count == 1 && c.items[0].is_frame && c.items[0].version == version && c.items[0].type == type &&
             c.items[0].id == id && c.items[0].len == plen && memcmp(c.items[0].data, payload, plen) == 0 &&
             d.stats.frames == 1 && d.stats.text_bytes == 0;
    result(ok, "decode", name);
    collector_free(&c);
    free(payload);
    free(bytes);
}

static void check_stream_vector(const char *name, const char *bytes_hex, expect_t *ex, size_t nex,
                                const long stats[4])
{
    uint8_t *bytes;
    size_t blen = unhex(bytes_hex, &bytes);
    static collector_t c;
    static rsagen_decoder_t d;
    for (int mode = 0; mode < 3; mode++) {
        decode(&c, &d, bytes, blen, mode);
        int ok = !c.overflow && c.count == nex && d.n == 0;
        for (size_t i = 0; ok && i < nex; i++) {
            const item_t *it = &c.items[i];
            ok = it->is_frame == ex[i].is_frame && it->len == ex[i].payload_len &&
                 memcmp(it->data, ex[i].payload, it->len) == 0;
            if (ok && it->is_frame) {
                ok = it->version == ex[i].version && it->type == ex[i].type && it->id == ex[i].id;
            }
        }
        const uint32_t got[4] = {d.stats.frames, d.stats.header_errors, d.stats.crc_errors, d.stats.text_bytes};
        for (int k = 0; k < 4; k++) {
            if (stats[k] >= 0 && (long)got[k] != stats[k]) {
                ok = 0;
            }
        }
        char label[300];
        snprintf(label, sizeof(label), "%s (mode %d)", name, mode);
        result(ok, "stream", label);
        collector_free(&c);
    }
    free(bytes);
}

static int run_vectors(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        printf("FAIL cannot open %s\n", path);
        return 0;
    }
    char *line = NULL;
    size_t cap = 0;
    char kind[16] = "", name[256] = "", payload_hex_buf[8] = "-";
    char *payload_hex = NULL, *bytes_hex = NULL;
    unsigned version = 0, type = 0, id = 0;
    static expect_t ex[512];
    size_t nex = 0;
    long stats[4] = {-1, -1, -1, -1};
    int vectors = 0;
    while (getline(&line, &cap, f) != -1) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '#' || line[0] == 0) {
            continue;
        }
        char *sp = strchr(line, ' ');
        char *arg = sp ? sp + 1 : line + strlen(line);
        if (sp) {
            *sp = 0;
        }
        if (strcmp(line, "frame") == 0 || strcmp(line, "stream") == 0) {
            snprintf(kind, sizeof(kind), "%s", line);
            snprintf(name, sizeof(name), "%s", arg);
            nex = 0;
            for (int k = 0; k < 4; k++) {
                stats[k] = -1;
            }
        } else if (strcmp(line, "version") == 0) {
            version = (unsigned)strtoul(arg, NULL, 10);
        } else if (strcmp(line, "type") == 0) {
            type = (unsigned)strtoul(arg, NULL, 16);
        } else if (strcmp(line, "id") == 0) {
            id = (unsigned)strtoul(arg, NULL, 10);
        } else if (strcmp(line, "payload") == 0) {
            free(payload_hex);
            payload_hex = strdup(arg);
        } else if (strcmp(line, "bytes") == 0) {
            free(bytes_hex);
            bytes_hex = strdup(arg);
        } else if (strcmp(line, "expect") == 0 && nex < sizeof(ex) / sizeof(ex[0])) {
            expect_t *e = &ex[nex++];
            memset(e, 0, sizeof(*e));
            char a[16], b[16], c2[16];
            if (strncmp(arg, "text ", 5) == 0) {
                e->payload_len = unhex(arg + 5, &e->payload);
            } else {
                unsigned v, t, i2;
                char *hexp = malloc(strlen(arg) + 1);
                sscanf(arg, "frame %15s %15s %15s %s", a, b, c2, hexp);
                v = (unsigned)strtoul(a, NULL, 10);
                t = (unsigned)strtoul(b, NULL, 16);
                i2 = (unsigned)strtoul(c2, NULL, 10);
                e->is_frame = 1;
                e->version = (uint8_t)v;
                e->type = (uint8_t)t;
                e->id = (uint16_t)i2;
                e->payload_len = unhex(hexp, &e->payload);
                free(hexp);
            }
        } else if (strcmp(line, "stats") == 0) {
            char s[4][32];
            if (sscanf(arg, "%31s %31s %31s %31s", s[0], s[1], s[2], s[3]) == 4) {
                for (int k = 0; k < 4; k++) {
                    stats[k] = strcmp(s[k], "-") == 0 ? -1 : strtol(s[k], NULL, 10);
                }
            }
        } else if (strcmp(line, "end") == 0) {
            vectors++;
            if (strcmp(kind, "frame") == 0) {
                check_frame_vector(name, version, type, id, payload_hex ? payload_hex : payload_hex_buf,
                                   bytes_hex ? bytes_hex : "-");
            } else {
                check_stream_vector(name, bytes_hex ? bytes_hex : "-", ex, nex, stats);
            }
            for (size_t i = 0; i < nex; i++) {
                free(ex[i].payload);
            }
            nex = 0;
            free(payload_hex);
            payload_hex = NULL;
            free(bytes_hex);
            bytes_hex = NULL;
        }
    }
    free(line);
    fclose(f);
    return vectors;
}

static void check_basics(void)
{
    const uint8_t check[] = "123456789";
    result(rsagen_crc32(0, check, 9) == 0xCBF43926u, "crc32 check value", "123456789");
    result(rsagen_crc8(check, 9) == 0xF4, "crc8 check value", "123456789");
    result(rsagen_crc32(rsagen_crc32(0, check, 4), check + 4, 5) == 0xCBF43926u, "crc32 incremental", "4+5");

    static uint8_t big[RSAGEN_PROTO_MAX_PAYLOAD + 1];
    static uint8_t out[RSAGEN_PROTO_MAX_FRAME + 16];
    result(rsagen_proto_encode(out, sizeof(out), 2, 1, big, RSAGEN_PROTO_MAX_PAYLOAD) == RSAGEN_PROTO_MAX_FRAME,
           "encode", "max payload");
    result(rsagen_proto_encode(out, sizeof(out), 2, 1, big, RSAGEN_PROTO_MAX_PAYLOAD + 1) == 0, "encode rejects",
           "payload too long");
    result(rsagen_proto_encode(out, 20, 2, 1, big, 8) == 0, "encode rejects", "small buffer");
    result(rsagen_proto_encode(out, 21, 2, 1, big, 8) == 21, "encode", "exact buffer");
    result(rsagen_proto_encode(out, sizeof(out), 2, 1, NULL, 3) == 0, "encode rejects", "NULL payload");
    result(rsagen_proto_encode_version(out, sizeof(out), 0, 2, 1, big, 3) == 0, "encode rejects", "version 0");
    result(RSAGEN_READ_MAX_CHUNK == 1016 && RSAGEN_STATUS_LEN == 136 && RSAGEN_STATUS_V1_LEN == 96 &&
               RSAGEN_PROTO_MAX_FRAME == 1037,
           "layout constants", "sizes");
}

/* ---- message layouts: the header's offsets against the vectors ------------------------------ */

typedef struct {
    const char *name;
    size_t value;
} constant_t;

#define C(x) {#x, x}
static const constant_t CONSTANTS[] = {
    C(RSAGEN_STATUS_OFF_KIND), C(RSAGEN_STATUS_OFF_PRIV_LEN), C(RSAGEN_STATUS_OFF_OUT_LEN),
    C(RSAGEN_STATUS_OFF_OUT_SHA256), C(RSAGEN_STATUS_OFF_MBEDTLS_ERR), C(RSAGEN_SLOTLIST_OFF_FIRST),
    C(RSAGEN_SLOTLIST_OFF_TOTAL), C(RSAGEN_SLOTLIST_OFF_FIRST_ECHO), C(RSAGEN_SLOTLIST_OFF_COUNT),
    C(RSAGEN_SLOTLIST_OFF_FLAGS), C(RSAGEN_SLOTLIST_OFF_CAPACITY), C(RSAGEN_SLOTLIST_OFF_FREE),
    C(RSAGEN_SLOTLIST_OFF_PART_SIZE), C(RSAGEN_SLOTENT_OFF_KEY_TYPE), C(RSAGEN_SLOTENT_OFF_BITS),
    C(RSAGEN_SLOTENT_OFF_PUB_LEN), C(RSAGEN_SLOTENT_OFF_SEQ), C(RSAGEN_SLOTENT_OFF_NAME),
    C(RSAGEN_SLOTINFO_OFF_KEY_TYPE), C(RSAGEN_SLOTINFO_OFF_BITS), C(RSAGEN_SLOTINFO_OFF_SEQ),
    C(RSAGEN_SLOTINFO_OFF_PUB_LEN), C(RSAGEN_SLOTINFO_OFF_PUB_SHA256), C(RSAGEN_SLOTINFO_OFF_NAME),
    C(RSAGEN_SLOTDEL_OFF_SEQ), C(RSAGEN_SLOTDEL_OFF_NAME), C(RSAGEN_KEEP_OFF_BITS), C(RSAGEN_KEEP_OFF_EXPONENT),
    C(RSAGEN_KEEP_OFF_FLAGS), C(RSAGEN_KEEP_OFF_NAME), C(RSAGEN_CSR_OFF_MD), C(RSAGEN_CSR_OFF_SUBJECT_LEN),
    C(RSAGEN_CSR_OFF_NAME), C(RSAGEN_SIGN_OFF_SCHEME), C(RSAGEN_SIGN_OFF_HASH), C(RSAGEN_SIGN_OFF_DIGEST),
    C(RSAGEN_SIGN_OFF_NAME), C(RSAGEN_READ_OFF_PART), C(RSAGEN_ERROR_OFF_CODE),
    C(RSAGEN_HELLO_TAIL_OFF_STORE_FLAGS), C(RSAGEN_HELLO_TAIL_OFF_SLOTS_USED), C(RSAGEN_HELLO_TAIL_OFF_SLOTS_CAP),
    C(RSAGEN_HELLO_TAIL_OFF_RESET_REASON),
};
#undef C

static int constant(const char *name, size_t *out)
{
    for (size_t i = 0; i < sizeof CONSTANTS / sizeof CONSTANTS[0]; i++) {
        if (strcmp(CONSTANTS[i].name, name) == 0) {
            *out = CONSTANTS[i].value;
            return 1;
        }
    }
    return 0;
}

/* The payload of message vector `name` in frames.txt (malloc'd), or NULL. */
static uint8_t *vector_payload(const char *frames_path, const char *name, size_t *len)
{
    FILE *f = fopen(frames_path, "r");
    if (f == NULL) return NULL;
    char *line = NULL;
    size_t cap = 0;
    int in = 0;
    uint8_t *out = NULL;
    while (out == NULL && getline(&line, &cap, f) != -1) {
        line[strcspn(line, "\r\n")] = 0;
        if (strncmp(line, "frame ", 6) == 0) in = strcmp(line + 6, name) == 0;
        else if (in && strncmp(line, "payload ", 8) == 0) *len = unhex(line + 8, &out);
    }
    free(line);
    fclose(f);
    return out;
}

/* Every line: the bytes at the header constant's offset in the named vector's payload. */
static int run_layouts(const char *frames_path, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        printf("FAIL cannot open %s\n", path);
        failed++;
        return 0;
    }
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, f) != -1) {
        line[strcspn(line, "\r\n")] = 0;
        if (strncmp(line, "layout ", 7) != 0) continue;
        char vec[128], cname[128], want_hex[1024];
        if (sscanf(line + 7, "%127s %127s %1023s", vec, cname, want_hex) != 3) {
            result(0, "layout line", line);
            continue;
        }
        n++;
        size_t plen = 0, off = 0;
        uint8_t *p = vector_payload(frames_path, vec, &plen);
        char inner[128];
        int known = 0;
        if (sscanf(cname, "HELLO_TAIL(%127[^)])", inner) == 1) {
            char full[160];
            snprintf(full, sizeof full, "RSAGEN_HELLO_TAIL_OFF_%s", inner);
            known = constant(full, &off) && plen >= RSAGEN_HELLO_TAIL_LEN;
            off += plen - RSAGEN_HELLO_TAIL_LEN;
        } else if (sscanf(cname, "ENTRY0(%127[^)])", inner) == 1) {
            known = constant(inner, &off);
            off += RSAGEN_SLOTLIST_FIXED_LEN;
        } else {
            known = constant(cname, &off);
        }
        uint8_t *want = NULL;
        size_t wlen = unhex(want_hex, &want);
        char what[300];
        snprintf(what, sizeof what, "%s %s", vec, cname);
        result(p != NULL && known && off + wlen <= plen && memcmp(p + off, want, wlen) == 0, "layout", what);
        free(p);
        free(want);
    }
    free(line);
    fclose(f);
    return n;
}

static uint32_t xs_state;
static uint32_t xorshift(void)
{
    xs_state ^= xs_state << 13;
    xs_state ^= xs_state >> 17;
    xs_state ^= xs_state << 5;
    return xs_state;
}

/* Random streams of frames, corrupted frames and sync-heavy noise: the decoder must never crash,
 * every frame it yields must re-encode to exactly the bytes it came from (so its CRC is right), and
 * text + frames must rebuild the input. */
static void check_fuzz(void)
{
    static uint8_t stream[64 * 1024];
    static uint8_t rebuilt[64 * 1024 + RSAGEN_PROTO_MAX_FRAME];
    static collector_t c;
    static rsagen_decoder_t d;
    xs_state = 0x9E3779B9u;
#define XS() xorshift()
    int ok = 1;
    for (int round = 0; round < 60 && ok; round++) {
        size_t len = 0;
        unsigned intact = 0;
        while (len < sizeof(stream) - RSAGEN_PROTO_MAX_FRAME) {
            if (XS() % 4 == 0) {
                uint8_t p[300];
                size_t pl = XS() % sizeof(p);
                for (size_t i = 0; i < pl; i++) {
                    p[i] = (uint8_t)XS();
                }
                size_t n = rsagen_proto_encode(stream + len, sizeof(stream) - len, 0x82, (uint16_t)(1 + XS() % 65535),
                                               p, pl);
                if (XS() % 3 == 0) {
                    stream[len + XS() % n] ^= (uint8_t)(1u << (XS() % 8));
                } else {
                    intact++;
                }
                len += n;
            } else {
                size_t n = XS() % 200;
                for (size_t i = 0; i < n && len < sizeof(stream); i++) {
                    uint32_t r = XS();
                    stream[len++] = r % 5 == 0 ? 0xC1 : r % 7 == 0 ? 0xF5 : r % 11 == 0 ? 1 : (uint8_t)r;
                }
            }
        }
        decode(&c, &d, stream, len, round % 3);
        size_t rl = 0;
        for (size_t i = 0; i < c.count; i++) {
            const item_t *it = &c.items[i];
            if (it->is_frame) {
                rl += rsagen_proto_encode_version(rebuilt + rl, sizeof(rebuilt) - rl, it->version, it->type, it->id,
                                                  it->data, it->len);
            } else {
                memcpy(rebuilt + rl, it->data, it->len);
                rl += it->len;
            }
        }
        ok = !c.overflow && rl == len && memcmp(rebuilt, stream, len) == 0 && d.stats.frames >= intact;
        collector_free(&c);
    }
    result(ok, "fuzz", "random streams rebuild exactly, all intact frames found");

    /* Pure random bytes: no frame. */
    rsagen_decoder_init(&d, NULL, NULL, NULL);
    for (int i = 0; i < 200; i++) {
        for (size_t k = 0; k < 4096; k++) {
            stream[k] = (uint8_t)XS();
        }
        rsagen_decoder_feed(&d, stream, 4096);
    }
    rsagen_decoder_flush(&d);
    result(d.stats.frames == 0 && d.stats.text_bytes == 200u * 4096u, "fuzz", "pure random bytes yield no frame");
#undef XS
}

static void print_hex(const uint8_t *b, size_t n)
{
    if (n == 0) {
        fputs("-", stdout);
    }
    for (size_t i = 0; i < n; i++) {
        printf("%02x", b[i]);
    }
}

static int decode_file(const char *path, size_t chunk)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL || chunk == 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    static collector_t c;
    static rsagen_decoder_t d;
    static uint8_t buf[1 << 16];
    rsagen_decoder_init(&d, on_frame, on_text, &c);
    size_t n;
    while ((n = fread(buf, 1, chunk < sizeof(buf) ? chunk : sizeof(buf), f)) > 0) {
        rsagen_decoder_feed(&d, buf, n);
        /* Print as we go so the collector never overflows; a text run may continue in the next
         * chunk, so keep the last item if it is text. */
        size_t keep = (c.count > 0 && !c.items[c.count - 1].is_frame) ? 1 : 0;
        for (size_t i = 0; i + keep < c.count; i++) {
            const item_t *it = &c.items[i];
            if (it->is_frame) {
                printf("frame %u %02x %u ", it->version, it->type, it->id);
            } else {
                fputs("text ", stdout);
            }
            print_hex(it->data, it->len);
            putchar('\n');
            free(it->data);
        }
        if (keep) {
            c.items[0] = c.items[c.count - 1];
        }
        c.count = keep;
    }
    fclose(f);
    rsagen_decoder_flush(&d);
    for (size_t i = 0; i < c.count; i++) {
        const item_t *it = &c.items[i];
        if (it->is_frame) {
            printf("frame %u %02x %u ", it->version, it->type, it->id);
        } else {
            fputs("text ", stdout);
        }
        print_hex(it->data, it->len);
        putchar('\n');
    }
    collector_free(&c);
    printf("stats %u %u %u %u\n", (unsigned)d.stats.frames, (unsigned)d.stats.header_errors,
           (unsigned)d.stats.crc_errors, (unsigned)d.stats.text_bytes);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--decode") == 0) {
        return decode_file(argv[2], (size_t)strtoul(argv[3], NULL, 10));
    }
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s <frames.txt> [<layouts.txt>]\n", argv[0]);
        return 2;
    }
    check_basics();
    int vectors = run_vectors(argv[1]);
    result(vectors > 50, "vector file", "has more than 50 vectors");
    if (argc == 3) result(run_layouts(argv[1], argv[2]) > 40, "layout file", "has more than 40 layouts");
    check_fuzz();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
