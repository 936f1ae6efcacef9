/*
 * Key slots in a raw flash partition: see include/rsagen_slots.h for the record format and
 * docs/key-slots.md for why every step is ordered as it is.
 */
#include "rsagen_slots.h"

#include <string.h>

/* Header field offsets. */
#define H_MAGIC 0
#define H_VERSION 4
#define H_KIND 5
#define H_KEY_TYPE 6
#define H_NAME_LEN 7
#define H_SEQ 8
#define H_BITS 12
#define H_PRIV_LEN 14
#define H_PUB_LEN 16
#define H_NAME 24 /* 32 bytes, zero padded */

/* Commit block field offsets. */
#define C_MAGIC 0
#define C_CRC 4
#define C_SEQ 8
#define C_BODY_LEN 12

/* seq never reaches this: a store refuses before (4 billion writes outlast any flash). */
#define SEQ_LIMIT 0xFFFFFF00u

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint32_t rsagen_slots_crc32(uint32_t crc, const uint8_t *data, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static bool name_char(char c, bool first)
{
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '_' || c == '-' || c == '.'));
}

bool rsagen_slot_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > RSAGEN_SLOT_NAME_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        if (!name_char(name[i], i == 0)) return false;
    }
    return true;
}

static size_t align_up(size_t n) { return (n + RSAGEN_SLOTS_ALIGN - 1u) & ~(size_t)(RSAGEN_SLOTS_ALIGN - 1u); }

static uint32_t sector_off(unsigned i) { return (uint32_t)i * RSAGEN_FLASH_SECTOR; }

/* ---- classification ------------------------------------------------------------------------- */

static bool sector_erased(rsagen_slots_t *s, unsigned i)
{
    bool erased = true;
    for (uint32_t off = 0; erased && off < RSAGEN_FLASH_SECTOR; off += sizeof s->scratch) {
        if (s->flash.read_raw(s->flash.ctx, sector_off(i) + off, s->scratch, sizeof s->scratch) != 0) {
            erased = false;
            break;
        }
        for (size_t k = 0; k < sizeof s->scratch; k++) erased = erased && s->scratch[k] == 0xFF;
    }
    memset(s->scratch, 0, sizeof s->scratch); /* a torn record's key bytes may have passed through */
    return erased;
}

/* CRC-32 of the header and len bytes of keys after it, read back from flash. */
static int body_crc(rsagen_slots_t *s, unsigned i, const uint8_t *hdr, size_t keys_len, uint32_t *out)
{
    uint32_t crc = rsagen_slots_crc32(0, hdr, RSAGEN_SLOTS_HEADER_LEN);
    uint32_t off = sector_off(i) + RSAGEN_SLOTS_HEADER_LEN;
    while (keys_len > 0) {
        size_t n = keys_len < sizeof s->scratch ? keys_len : sizeof s->scratch;
        if (s->flash.read(s->flash.ctx, off, s->scratch, n) != 0) return -1;
        crc = rsagen_slots_crc32(crc, s->scratch, n);
        off += (uint32_t)n;
        keys_len -= n;
    }
    memset(s->scratch, 0, sizeof s->scratch); /* it held key bytes */
    *out = crc;
    return 0;
}

/* Parses a header into meta; false if it is not a well-formed version-1 key record header. */
static bool parse_header(const uint8_t *h, rsagen_slot_meta_t *m)
{
    if (h[H_KIND] != RSAGEN_SLOT_KIND_KEY || h[H_KEY_TYPE] != RSAGEN_SLOT_KEY_RSA) return false;
    size_t name_len = h[H_NAME_LEN];
    if (!rsagen_slot_name_valid((const char *)h + H_NAME, name_len)) return false;
    for (size_t k = name_len; k < RSAGEN_SLOT_NAME_MAX + 1u; k++) {
        if (h[H_NAME + k] != 0) return false;
    }
    uint16_t priv_len = get16(h + H_PRIV_LEN);
    uint16_t pub_len = get16(h + H_PUB_LEN);
    if (priv_len == 0 || pub_len == 0 || (size_t)priv_len + pub_len > RSAGEN_SLOTS_MAX_PAYLOAD) return false;
    uint32_t seq = get32(h + H_SEQ);
    if (seq == 0 || seq >= SEQ_LIMIT) return false;
    memset(m, 0, sizeof *m);
    m->key_type = h[H_KEY_TYPE];
    m->name_len = (uint8_t)name_len;
    m->bits = get16(h + H_BITS);
    m->priv_len = priv_len;
    m->pub_len = pub_len;
    m->seq = seq;
    memcpy(m->name, h + H_NAME, name_len);
    m->name[name_len] = '\0';
    return true;
}

static void classify(rsagen_slots_t *s, unsigned i)
{
    rsagen_slot_meta_t *m = &s->meta[i];
    uint8_t h[RSAGEN_SLOTS_HEADER_LEN];
    uint8_t c[RSAGEN_SLOTS_COMMIT_LEN];
    memset(m, 0, sizeof *m);
    m->state = SLOT_SECTOR_GARBAGE;
    if (s->flash.read(s->flash.ctx, sector_off(i), h, sizeof h) != 0) return;
    if (get32(h + H_MAGIC) == RSAGEN_SLOTS_MAGIC && h[H_VERSION] > RSAGEN_SLOTS_FORMAT) {
        m->state = SLOT_SECTOR_FOREIGN; /* a newer firmware's record: never destroy it */
        return;
    }
    if (get32(h + H_MAGIC) == RSAGEN_SLOTS_MAGIC && h[H_VERSION] == RSAGEN_SLOTS_FORMAT) {
        rsagen_slot_meta_t parsed;
        if (!parse_header(h, &parsed)) return;
        if (s->flash.read(s->flash.ctx, sector_off(i) + RSAGEN_SLOTS_COMMIT_OFF, c, sizeof c) != 0) return;
        size_t keys_len = (size_t)parsed.priv_len + parsed.pub_len;
        if (get32(c + C_MAGIC) != RSAGEN_SLOTS_COMMIT_MAGIC || get32(c + C_SEQ) != parsed.seq ||
            get16(c + C_BODY_LEN) != RSAGEN_SLOTS_HEADER_LEN + keys_len) {
            return;
        }
        uint32_t crc;
        if (body_crc(s, i, h, keys_len, &crc) != 0 || crc != get32(c + C_CRC)) return;
        *m = parsed;
        m->state = SLOT_SECTOR_VALID;
        return;
    }
    if (sector_erased(s, i)) m->state = SLOT_SECTOR_ERASED;
}

/* ---- scrubbing ------------------------------------------------------------------------------- */

/* Writes zeros as stored (write_raw: with flash encryption this clears the ciphertext itself). */
static int zero_range(rsagen_slots_t *s, uint32_t off, size_t len)
{
    memset(s->scratch, 0, sizeof s->scratch);
    while (len > 0) {
        size_t n = len < sizeof s->scratch ? len : sizeof s->scratch;
        if (s->flash.write_raw(s->flash.ctx, off, s->scratch, n) != 0) return -1;
        off += (uint32_t)n;
        len -= n;
    }
    return 0;
}

/*
 * Destroys whatever sector i holds and erases it: the commit block is zeroed first (from then on the
 * record is invalid, whatever happens next), then the body (a torn erase then leaves no key bytes),
 * then the sector is erased.
 */
static int scrub(rsagen_slots_t *s, unsigned i)
{
    s->meta[i].state = SLOT_SECTOR_GARBAGE;
    uint32_t base = sector_off(i);
    if (zero_range(s, base + RSAGEN_SLOTS_COMMIT_OFF, RSAGEN_SLOTS_COMMIT_LEN) != 0) return -1;
    if (zero_range(s, base, RSAGEN_SLOTS_COMMIT_OFF) != 0) return -1;
    if (s->flash.erase(s->flash.ctx, base, RSAGEN_FLASH_SECTOR) != 0) return -1;
    memset(&s->meta[i], 0, sizeof s->meta[i]);
    s->meta[i].state = SLOT_SECTOR_ERASED;
    return 0;
}

/* The live record of a name: the valid one with the highest seq (ties: the lower sector). */
static int live_index(const rsagen_slots_t *s, const char *name)
{
    int best = -1;
    for (unsigned i = 0; i < s->sectors; i++) {
        const rsagen_slot_meta_t *m = &s->meta[i];
        if (m->state != SLOT_SECTOR_VALID || strcmp(m->name, name) != 0) continue;
        if (best < 0 || m->seq > s->meta[best].seq) best = (int)i;
    }
    return best;
}

/* Scrubs every valid record of name except sector keep. Returns -1 if any scrub failed. */
static int scrub_older(rsagen_slots_t *s, const char *name, unsigned keep)
{
    int rc = 0;
    for (unsigned j = 0; j < s->sectors; j++) {
        if (j == keep || s->meta[j].state != SLOT_SECTOR_VALID || strcmp(s->meta[j].name, name) != 0) continue;
        if (scrub(s, j) != 0) rc = -1;
    }
    return rc;
}

/* ---- mount ----------------------------------------------------------------------------------- */

rsagen_slots_status_t rsagen_slots_mount(rsagen_slots_t *s, const rsagen_flash_t *flash)
{
    memset(s, 0, sizeof *s);
    if (flash == NULL || flash->size < 2u * RSAGEN_FLASH_SECTOR) return SLOTS_E_NO_STORAGE;
    s->flash = *flash;
    s->sectors = flash->size / RSAGEN_FLASH_SECTOR;
    if (s->sectors > RSAGEN_SLOTS_MAX_SECTORS) s->sectors = RSAGEN_SLOTS_MAX_SECTORS;

    for (unsigned i = 0; i < s->sectors; i++) classify(s, i);
    for (unsigned i = 0; i < s->sectors; i++) {
        const rsagen_slot_meta_t *m = &s->meta[i];
        if (m->state == SLOT_SECTOR_VALID) s->stats.valid++;
        else if (m->state == SLOT_SECTOR_ERASED) s->stats.erased++;
        else if (m->state == SLOT_SECTOR_FOREIGN) s->stats.foreign++;
        else s->stats.garbage++;
        if (m->state == SLOT_SECTOR_VALID && m->seq > s->max_seq) {
            s->max_seq = m->seq;
            s->last_written = i;
        }
    }
    /* Reclaim: every valid record that is not its name's live one (a replace or delete cut short),
     * and every garbage sector (a torn write, a torn scrub). Each step is safe to repeat. */
    for (unsigned i = 0; i < s->sectors; i++) {
        rsagen_slot_meta_t *m = &s->meta[i];
        bool superseded = m->state == SLOT_SECTOR_VALID && live_index(s, m->name) != (int)i;
        if (!superseded && m->state != SLOT_SECTOR_GARBAGE) continue;
        if (scrub(s, i) == 0) s->stats.reclaimed++;
        else s->stats.failed++;
    }
    s->mounted = true;
    return SLOTS_OK;
}

/* ---- queries --------------------------------------------------------------------------------- */

unsigned rsagen_slots_count(const rsagen_slots_t *s)
{
    unsigned n = 0;
    for (unsigned i = 0; s->mounted && i < s->sectors; i++) {
        if (s->meta[i].state == SLOT_SECTOR_VALID && live_index(s, s->meta[i].name) == (int)i) n++;
    }
    return n;
}

unsigned rsagen_slots_capacity(const rsagen_slots_t *s) { return s->mounted ? s->sectors - 1u : 0u; }

static unsigned erased_count(const rsagen_slots_t *s)
{
    unsigned n = 0;
    for (unsigned i = 0; s->mounted && i < s->sectors; i++) n += s->meta[i].state == SLOT_SECTOR_ERASED;
    return n;
}

unsigned rsagen_slots_free(const rsagen_slots_t *s)
{
    unsigned e = erased_count(s);
    return e > 0 ? e - 1u : 0u; /* one spare sector for the next replace */
}

static void fill_info(const rsagen_slots_t *s, unsigned i, rsagen_slot_info_t *out)
{
    const rsagen_slot_meta_t *m = &s->meta[i];
    memset(out, 0, sizeof *out);
    memcpy(out->name, m->name, sizeof out->name);
    out->key_type = m->key_type;
    out->bits = m->bits;
    out->priv_len = m->priv_len;
    out->pub_len = m->pub_len;
    out->seq = m->seq;
    out->sector = i;
}

bool rsagen_slots_at(const rsagen_slots_t *s, unsigned index, rsagen_slot_info_t *out)
{
    /* Selection by rank: the live record with exactly `index` live names before it in strcmp
     * order. O(n^2) over at most 32 sectors, and no sort buffer. */
    for (unsigned i = 0; s->mounted && i < s->sectors; i++) {
        if (s->meta[i].state != SLOT_SECTOR_VALID || live_index(s, s->meta[i].name) != (int)i) continue;
        unsigned before = 0;
        for (unsigned j = 0; j < s->sectors; j++) {
            if (s->meta[j].state == SLOT_SECTOR_VALID && live_index(s, s->meta[j].name) == (int)j &&
                strcmp(s->meta[j].name, s->meta[i].name) < 0) {
                before++;
            }
        }
        if (before == index) {
            fill_info(s, i, out);
            return true;
        }
    }
    return false;
}

rsagen_slots_status_t rsagen_slots_find(const rsagen_slots_t *s, const char *name, rsagen_slot_info_t *out)
{
    if (!s->mounted) return SLOTS_E_NO_STORAGE;
    if (!rsagen_slot_name_valid(name, strlen(name))) return SLOTS_E_BAD_NAME;
    int i = live_index(s, name);
    if (i < 0) return SLOTS_E_NOT_FOUND;
    if (out != NULL) fill_info(s, (unsigned)i, out);
    return SLOTS_OK;
}

/* Reads one key of a live record and checks the record's CRC over everything again (flash that
 * changed since mount must not hand out a damaged key). */
static rsagen_slots_status_t read_key(rsagen_slots_t *s, const char *name, bool private_key, uint8_t *buf,
                                      size_t cap, size_t *len)
{
    *len = 0;
    if (!s->mounted) return SLOTS_E_NO_STORAGE;
    if (!rsagen_slot_name_valid(name, strlen(name))) return SLOTS_E_BAD_NAME;
    int idx = live_index(s, name);
    if (idx < 0) return SLOTS_E_NOT_FOUND;
    const rsagen_slot_meta_t *m = &s->meta[idx];
    size_t want = private_key ? m->priv_len : m->pub_len;
    if (want > cap) return SLOTS_E_TOO_BIG;
    uint32_t base = sector_off((unsigned)idx);
    uint8_t h[RSAGEN_SLOTS_HEADER_LEN];
    uint8_t c[RSAGEN_SLOTS_COMMIT_LEN];
    uint32_t key_off = base + RSAGEN_SLOTS_HEADER_LEN + (private_key ? 0u : m->priv_len);
    if (s->flash.read(s->flash.ctx, base, h, sizeof h) != 0 ||
        s->flash.read(s->flash.ctx, base + RSAGEN_SLOTS_COMMIT_OFF, c, sizeof c) != 0 ||
        s->flash.read(s->flash.ctx, key_off, buf, want) != 0) {
        memset(buf, 0, want);
        return SLOTS_E_IO;
    }
    uint32_t crc;
    rsagen_slot_meta_t again;
    if (!parse_header(h, &again) || again.seq != m->seq || get32(c + C_MAGIC) != RSAGEN_SLOTS_COMMIT_MAGIC ||
        body_crc(s, (unsigned)idx, h, (size_t)m->priv_len + m->pub_len, &crc) != 0 || crc != get32(c + C_CRC)) {
        memset(buf, 0, want);
        return SLOTS_E_IO;
    }
    *len = want;
    return SLOTS_OK;
}

rsagen_slots_status_t rsagen_slots_read_pub(rsagen_slots_t *s, const char *name, uint8_t *buf, size_t cap,
                                            size_t *len)
{
    return read_key(s, name, false, buf, cap, len);
}

rsagen_slots_status_t rsagen_slots_read_priv(rsagen_slots_t *s, const char *name, uint8_t *buf, size_t cap,
                                             size_t *len)
{
    return read_key(s, name, true, buf, cap, len);
}

/* ---- store and delete ------------------------------------------------------------------------ */

rsagen_slots_status_t rsagen_slots_check_store(const rsagen_slots_t *s, const char *name, bool replace)
{
    if (!s->mounted) return SLOTS_E_NO_STORAGE;
    if (!rsagen_slot_name_valid(name, strlen(name))) return SLOTS_E_BAD_NAME;
    bool exists = live_index(s, name) >= 0;
    if (exists && !replace) return SLOTS_E_EXISTS;
    unsigned erased = erased_count(s);
    /* A new name needs its sector and leaves one spare; a replace may use the spare (the old
     * record's sector is erased right after, so the spare comes back). */
    if (erased < (exists ? 1u : 2u)) return SLOTS_E_FULL;
    if (s->max_seq + 1u >= SEQ_LIMIT) return SLOTS_E_FULL;
    return SLOTS_OK;
}

static int pick_free(const rsagen_slots_t *s)
{
    for (unsigned k = 1; k <= s->sectors; k++) {
        unsigned i = (s->last_written + k) % s->sectors; /* round robin spreads the erase cycles */
        if (s->meta[i].state == SLOT_SECTOR_ERASED) return (int)i;
    }
    return -1;
}

rsagen_slots_status_t rsagen_slots_store(rsagen_slots_t *s, const char *name, uint8_t key_type, uint16_t bits,
                                         const uint8_t *priv, size_t priv_len, const uint8_t *pub,
                                         size_t pub_len, bool replace)
{
    rsagen_slots_status_t st = rsagen_slots_check_store(s, name, replace);
    if (st != SLOTS_OK) return st;
    if (key_type != RSAGEN_SLOT_KEY_RSA || priv_len == 0 || pub_len == 0) return SLOTS_E_TOO_BIG;
    if (priv_len + pub_len > RSAGEN_SLOTS_MAX_PAYLOAD) return SLOTS_E_TOO_BIG;
    int old = live_index(s, name);
    int i = pick_free(s);
    if (i < 0) return SLOTS_E_FULL;
    uint32_t seq = s->max_seq + 1u;
    size_t name_len = strlen(name);

    uint8_t h[RSAGEN_SLOTS_HEADER_LEN];
    memset(h, 0, sizeof h);
    put32(h + H_MAGIC, RSAGEN_SLOTS_MAGIC);
    h[H_VERSION] = RSAGEN_SLOTS_FORMAT;
    h[H_KIND] = RSAGEN_SLOT_KIND_KEY;
    h[H_KEY_TYPE] = key_type;
    h[H_NAME_LEN] = (uint8_t)name_len;
    put32(h + H_SEQ, seq);
    put16(h + H_BITS, bits);
    put16(h + H_PRIV_LEN, (uint16_t)priv_len);
    put16(h + H_PUB_LEN, (uint16_t)pub_len);
    memcpy(h + H_NAME, name, name_len);

    uint32_t crc = rsagen_slots_crc32(0, h, sizeof h);
    crc = rsagen_slots_crc32(crc, priv, priv_len);
    crc = rsagen_slots_crc32(crc, pub, pub_len);
    uint8_t c[RSAGEN_SLOTS_COMMIT_LEN];
    memset(c, 0, sizeof c);
    put32(c + C_MAGIC, RSAGEN_SLOTS_COMMIT_MAGIC);
    put32(c + C_CRC, crc);
    put32(c + C_SEQ, seq);
    put16(c + C_BODY_LEN, (uint16_t)(sizeof h + priv_len + pub_len));

    /* The body goes out in scratch-sized pieces assembled from header, keys and 0xFF padding, every
     * piece 32-byte aligned (flash encryption); the commit block last, in one write. */
    uint32_t base = sector_off((unsigned)i);
    size_t body = align_up(sizeof h + priv_len + pub_len);
    s->meta[i].state = SLOT_SECTOR_GARBAGE; /* until it reads back valid */
    bool ok = true;
    for (size_t off = 0; ok && off < body; off += sizeof s->scratch) {
        size_t n = body - off < sizeof s->scratch ? body - off : sizeof s->scratch;
        for (size_t k = 0; k < n; k++) {
            size_t at = off + k;
            uint8_t b = 0xFF;
            if (at < sizeof h) b = h[at];
            else if (at < sizeof h + priv_len) b = priv[at - sizeof h];
            else if (at < sizeof h + priv_len + pub_len) b = pub[at - sizeof h - priv_len];
            s->scratch[k] = b;
        }
        ok = s->flash.write(s->flash.ctx, base + (uint32_t)off, s->scratch, n) == 0;
    }
    memset(s->scratch, 0, sizeof s->scratch);
    ok = ok && s->flash.write(s->flash.ctx, base + RSAGEN_SLOTS_COMMIT_OFF, c, sizeof c) == 0;
    if (ok) {
        classify(s, (unsigned)i); /* read back: the record must be complete and match */
        ok = s->meta[i].state == SLOT_SECTOR_VALID && s->meta[i].seq == seq && strcmp(s->meta[i].name, name) == 0;
    }
    if (!ok) {
        (void)scrub(s, (unsigned)i); /* best effort; the next mount reclaims it otherwise */
        return SLOTS_E_IO;
    }
    s->max_seq = seq;
    s->last_written = (unsigned)i;
    /* The new record is live: only now may the old one go. A cut from here on leaves two valid
     * records, and the newer seq wins at the next mount, which then reclaims the older. A scrub
     * that fails leaves an older record behind; mount and delete reclaim it later. */
    if (old >= 0) scrub_older(s, name, (unsigned)i);
    return SLOTS_OK;
}

rsagen_slots_status_t rsagen_slots_delete(rsagen_slots_t *s, const char *name, uint32_t *seq)
{
    if (seq != NULL) *seq = 0;
    if (!s->mounted) return SLOTS_E_NO_STORAGE;
    if (!rsagen_slot_name_valid(name, strlen(name))) return SLOTS_E_BAD_NAME;
    int i = live_index(s, name);
    if (i < 0) return SLOTS_E_NOT_FOUND;
    if (seq != NULL) *seq = s->meta[i].seq;
    /* Older records of the name first (normally none: mount and store reclaim them), so that none
     * can resurface once the live one is gone. Then zeroing the live record's commit block is the
     * delete: a record whose commit block lost any bit is invalid. */
    if (scrub_older(s, name, (unsigned)i) != 0) return SLOTS_E_IO;
    return scrub(s, (unsigned)i) == 0 ? SLOTS_OK : SLOTS_E_IO;
}
