/*
 * C tests of the key-slot store (firmware/components/rsagen_slots) on an in-memory NOR flash:
 * records, names, listing, a full partition, damaged records, a newer format left alone, and a
 * power cut at every single flash write of every operation (store into an empty partition, store
 * next to others, replace, delete, and the reclaim at mount), each followed by a remount that
 * must find exactly the old state or exactly the new one, never part of a key, and leave no stray
 * copy of a deleted or replaced key in flash. The flash also runs in an "encrypted" mode (an
 * address-keyed XOR stands in for flash encryption) so raw and decrypted access are not mixed up.
 *
 * Prints one line per failure, then "N passed, M failed"; exit 0 only if nothing failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsagen_slots.h"

static int s_pass, s_fail;

#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (cond) {                                                                                          \
            s_pass++;                                                                                        \
        } else {                                                                                             \
            s_fail++;                                                                                        \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                      \
            printf(__VA_ARGS__);                                                                             \
            printf("\n");                                                                                    \
        }                                                                                                    \
    } while (0)

/* ---- in-memory NOR flash with a power-cut knob --------------------------------------------- */

#define FLASH_MAX (32u * RSAGEN_FLASH_SECTOR)

typedef struct {
    uint8_t mem[FLASH_MAX]; /* as stored */
    uint32_t size;
    bool enc;            /* stored = plain XOR keystream(address) for read/write */
    long cut_at;         /* the cut_at-th mutation is done half (or not at all), then the flash is dead */
    bool cut_none;       /* the cut mutation does nothing (power gone between two writes) */
    long mutations;
    bool dead;
    long misaligned;     /* encrypted writes not on 32-byte boundaries (must stay 0) */
} ram_flash_t;

static ram_flash_t s_rf;

static uint8_t ks(uint32_t addr)
{
    uint32_t x = addr * 2654435761u + 0x9E3779B9u;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return (uint8_t)x;
}

static bool rf_range(uint32_t off, size_t len) { return off <= s_rf.size && len <= s_rf.size - off; }

static int rf_read_any(uint32_t off, void *buf, size_t len, bool raw)
{
    if (s_rf.dead || !rf_range(off, len)) return -1;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) b[i] = (uint8_t)(s_rf.mem[off + i] ^ (s_rf.enc && !raw ? ks(off + (uint32_t)i) : 0));
    return 0;
}

static int rf_read(void *ctx, uint32_t off, void *buf, size_t len) { (void)ctx; return rf_read_any(off, buf, len, false); }
static int rf_read_raw(void *ctx, uint32_t off, void *buf, size_t len) { (void)ctx; return rf_read_any(off, buf, len, true); }

/* Counts a mutation; on the cut one returns how much of it happens (half), else len. */
static size_t rf_mutation(size_t len)
{
    s_rf.mutations++;
    if (s_rf.cut_at > 0 && s_rf.mutations == s_rf.cut_at) {
        s_rf.dead = true;
        return s_rf.cut_none ? 0u : len / 2u;
    }
    return len;
}

static int rf_write_any(uint32_t off, const void *buf, size_t len, bool raw)
{
    if (s_rf.dead || !rf_range(off, len)) return -1;
    if (s_rf.enc && !raw && (off % 32u != 0 || len % 32u != 0)) s_rf.misaligned++;
    size_t n = rf_mutation(len);
    const uint8_t *b = buf;
    for (size_t i = 0; i < n; i++) s_rf.mem[off + i] &= (uint8_t)(b[i] ^ (s_rf.enc && !raw ? ks(off + (uint32_t)i) : 0));
    return s_rf.dead ? -1 : 0;
}

static int rf_write(void *ctx, uint32_t off, const void *buf, size_t len) { (void)ctx; return rf_write_any(off, buf, len, false); }
static int rf_write_raw(void *ctx, uint32_t off, const void *buf, size_t len) { (void)ctx; return rf_write_any(off, buf, len, true); }

static int rf_erase(void *ctx, uint32_t off, size_t len)
{
    (void)ctx;
    if (s_rf.dead || !rf_range(off, len) || off % RSAGEN_FLASH_SECTOR || len % RSAGEN_FLASH_SECTOR) return -1;
    size_t n = rf_mutation(len);
    memset(s_rf.mem + off, 0xFF, n); /* a torn erase: the first part erased, the rest as it was */
    return s_rf.dead ? -1 : 0;
}

static rsagen_flash_t rf_init(unsigned sectors, bool enc)
{
    memset(&s_rf, 0, sizeof s_rf);
    memset(s_rf.mem, 0xFF, sizeof s_rf.mem);
    s_rf.size = sectors * RSAGEN_FLASH_SECTOR;
    s_rf.enc = enc;
    return (rsagen_flash_t){.ctx = &s_rf, .size = s_rf.size, .encrypted = enc, .read = rf_read,
                            .read_raw = rf_read_raw, .write = rf_write, .write_raw = rf_write_raw, .erase = rf_erase};
}

/* ---- test keys ------------------------------------------------------------------------------- */

typedef struct {
    uint8_t priv[2400];
    size_t priv_len;
    uint8_t pub[560];
    size_t pub_len;
    uint16_t bits;
} key_t_;

static key_t_ make_key(uint32_t seed, uint16_t bits)
{
    key_t_ k;
    memset(&k, 0, sizeof k);
    k.bits = bits;
    k.priv_len = bits == 4096 ? 2349 : bits == 2048 ? 1191 : 610;
    k.pub_len = bits == 4096 ? 550 : bits == 2048 ? 294 : 162;
    uint32_t x = seed * 747796405u + 1u;
    for (size_t i = 0; i < k.priv_len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        k.priv[i] = (uint8_t)x;
    }
    for (size_t i = 0; i < k.pub_len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        k.pub[i] = (uint8_t)x;
    }
    k.priv[0] = 0x30;
    k.pub[0] = 0x30;
    return k;
}

static rsagen_slots_status_t store(rsagen_slots_t *s, const char *name, const key_t_ *k, bool replace)
{
    return rsagen_slots_store(s, name, RSAGEN_SLOT_KEY_RSA, k->bits, k->priv, k->priv_len, k->pub, k->pub_len, replace);
}

/* True if the slot holds exactly key k (both parts). */
static bool holds(rsagen_slots_t *s, const char *name, const key_t_ *k)
{
    static uint8_t buf[4096];
    size_t len = 0;
    if (rsagen_slots_read_priv(s, name, buf, sizeof buf, &len) != SLOTS_OK) return false;
    if (len != k->priv_len || memcmp(buf, k->priv, len) != 0) return false;
    if (rsagen_slots_read_pub(s, name, buf, sizeof buf, &len) != SLOTS_OK) return false;
    rsagen_slot_info_t info;
    return len == k->pub_len && memcmp(buf, k->pub, len) == 0 && rsagen_slots_find(s, name, &info) == SLOTS_OK &&
           info.bits == k->bits && info.priv_len == k->priv_len;
}

/* How many places in the stored flash hold the first 64 bytes of the private key as written
 * (plain, or encrypted at a record's key offset: every record puts it at sector offset 64). */
static unsigned copies_in_flash(const key_t_ *k)
{
    unsigned n = 0;
    for (uint32_t sec = 0; sec < s_rf.size; sec += RSAGEN_FLASH_SECTOR) {
        bool match = true;
        for (uint32_t i = 0; i < 64 && match; i++) {
            uint32_t a = sec + RSAGEN_SLOTS_HEADER_LEN + i;
            uint8_t plain = (uint8_t)(s_rf.mem[a] ^ (s_rf.enc ? ks(a) : 0));
            match = plain == k->priv[i];
        }
        n += match;
    }
    return n;
}

/* ---- functional tests ------------------------------------------------------------------------ */

static void test_names(void)
{
    CHECK(rsagen_slot_name_valid("device", 6), "plain name");
    CHECK(rsagen_slot_name_valid("Dev-1.id_x", 10), "letters, digits, - . _");
    CHECK(rsagen_slot_name_valid("abcdefghijklmnopqrstuvwxyz01234", 31), "31 chars");
    CHECK(!rsagen_slot_name_valid("abcdefghijklmnopqrstuvwxyz012345", 32), "32 chars refused");
    CHECK(!rsagen_slot_name_valid("", 0), "empty refused");
    CHECK(!rsagen_slot_name_valid("-x", 2), "leading dash refused");
    CHECK(!rsagen_slot_name_valid(".x", 2), "leading dot refused");
    CHECK(!rsagen_slot_name_valid("a b", 3), "space refused");
    CHECK(!rsagen_slot_name_valid("a/b", 3), "slash refused");
    CHECK(!rsagen_slot_name_valid("caf\xc3\xa9", 5), "non-ASCII refused");
    CHECK(!rsagen_slot_name_valid("a\0b", 3), "NUL refused");
}

static void test_basic(bool enc)
{
    rsagen_flash_t f = rf_init(8, enc);
    static rsagen_slots_t s;
    CHECK(rsagen_slots_mount(&s, &f) == SLOTS_OK, "mount empty");
    CHECK(s.stats.erased == 8 && s.stats.reclaimed == 0, "empty: 8 erased, nothing reclaimed");
    CHECK(rsagen_slots_count(&s) == 0 && rsagen_slots_capacity(&s) == 7 && rsagen_slots_free(&s) == 7,
          "empty: 0 used, capacity 7, free 7");
    key_t_ a = make_key(1, 2048), b = make_key(2, 4096), c = make_key(3, 1024);
    CHECK(store(&s, "device", &a, false) == SLOTS_OK, "store device");
    CHECK(store(&s, "backup", &b, false) == SLOTS_OK, "store backup (4096)");
    CHECK(store(&s, "device", &c, false) == SLOTS_E_EXISTS, "store existing without replace: EXISTS");
    CHECK(store(&s, "bad name", &c, false) == SLOTS_E_BAD_NAME, "bad name");
    CHECK(holds(&s, "device", &a) && holds(&s, "backup", &b), "both read back exactly");
    CHECK(rsagen_slots_count(&s) == 2 && rsagen_slots_free(&s) == 5, "2 used, 5 free");
    rsagen_slot_info_t info;
    CHECK(rsagen_slots_at(&s, 0, &info) && strcmp(info.name, "backup") == 0 && info.bits == 4096, "list[0] backup");
    CHECK(rsagen_slots_at(&s, 1, &info) && strcmp(info.name, "device") == 0 && info.bits == 2048, "list[1] device");
    CHECK(!rsagen_slots_at(&s, 2, &info), "list ends");
    CHECK(rsagen_slots_find(&s, "nope", &info) == SLOTS_E_NOT_FOUND, "unknown: NOT_FOUND");
    uint8_t small[100];
    size_t len;
    CHECK(rsagen_slots_read_priv(&s, "device", small, sizeof small, &len) == SLOTS_E_TOO_BIG, "small buffer");

    /* Remount: same state, nothing to reclaim. */
    CHECK(rsagen_slots_mount(&s, &f) == SLOTS_OK && s.stats.valid == 2 && s.stats.reclaimed == 0, "remount: 2 valid");
    CHECK(holds(&s, "device", &a) && holds(&s, "backup", &b), "after remount");

    /* Replace, then delete. */
    CHECK(store(&s, "device", &c, true) == SLOTS_OK, "replace device");
    CHECK(holds(&s, "device", &c) && copies_in_flash(&a) == 0, "replaced: new key, no copy of the old one");
    uint32_t seq = 0;
    CHECK(rsagen_slots_delete(&s, "device", &seq) == SLOTS_OK && seq > 0, "delete device");
    CHECK(rsagen_slots_find(&s, "device", &info) == SLOTS_E_NOT_FOUND && copies_in_flash(&c) == 0,
          "deleted: gone, and no copy in flash");
    CHECK(rsagen_slots_delete(&s, "device", &seq) == SLOTS_E_NOT_FOUND, "delete again: NOT_FOUND");
    CHECK(rsagen_slots_mount(&s, &f) == SLOTS_OK && rsagen_slots_count(&s) == 1 && holds(&s, "backup", &b),
          "remount after delete");
    CHECK(s_rf.misaligned == 0, "every encrypted write 32-byte aligned");
}

static void test_full(void)
{
    rsagen_flash_t f = rf_init(4, false);
    static rsagen_slots_t s;
    rsagen_slots_mount(&s, &f);
    key_t_ k1 = make_key(11, 1024), k2 = make_key(12, 1024), k3 = make_key(13, 1024), k4 = make_key(14, 1024);
    CHECK(store(&s, "k1", &k1, false) == SLOTS_OK && store(&s, "k2", &k2, false) == SLOTS_OK &&
              store(&s, "k3", &k3, false) == SLOTS_OK,
          "3 keys in 4 sectors");
    CHECK(rsagen_slots_free(&s) == 0, "free 0");
    CHECK(rsagen_slots_check_store(&s, "k4", false) == SLOTS_E_FULL, "check: FULL");
    CHECK(store(&s, "k4", &k4, false) == SLOTS_E_FULL, "4th: FULL");
    CHECK(store(&s, "k2", &k4, true) == SLOTS_OK && holds(&s, "k2", &k4), "replace works when full (spare sector)");
    CHECK(rsagen_slots_free(&s) == 0 && store(&s, "k4", &k4, false) == SLOTS_E_FULL, "still full");
    CHECK(rsagen_slots_delete(&s, "k1", NULL) == SLOTS_OK && store(&s, "k4", &k4, false) == SLOTS_OK,
          "delete makes room");
    CHECK(holds(&s, "k2", &k4) && holds(&s, "k3", &k3) && holds(&s, "k4", &k4), "all intact");

    rsagen_flash_t tiny = rf_init(1, false);
    CHECK(rsagen_slots_mount(&s, &tiny) == SLOTS_E_NO_STORAGE, "one sector is no storage");
    CHECK(rsagen_slots_find(&s, "k2", NULL) == SLOTS_E_NO_STORAGE, "unmounted: NO_STORAGE");
    CHECK(rsagen_slots_mount(&s, NULL) == SLOTS_E_NO_STORAGE, "no flash: NO_STORAGE");
}

static void test_damage(void)
{
    rsagen_flash_t f = rf_init(8, false);
    static rsagen_slots_t s;
    rsagen_slots_mount(&s, &f);
    key_t_ a = make_key(21, 2048), b = make_key(22, 2048);
    store(&s, "a", &a, false);
    store(&s, "b", &b, false);
    rsagen_slot_info_t ia, ib;
    rsagen_slots_find(&s, "a", &ia);
    rsagen_slots_find(&s, "b", &ib);
    /* One flipped bit in a's private key (as flash bit rot would): the CRC catches it on read. */
    s_rf.mem[ia.sector * RSAGEN_FLASH_SECTOR + 500] ^= 0x10;
    static uint8_t buf[4096];
    size_t len = 7;
    CHECK(rsagen_slots_read_priv(&s, "a", buf, sizeof buf, &len) == SLOTS_E_IO && len == 0, "damaged key: IO on read");
    CHECK(rsagen_slots_mount(&s, &f) == SLOTS_OK && s.stats.garbage == 1 && s.stats.reclaimed == 1,
          "damaged record reclaimed at mount");
    CHECK(rsagen_slots_find(&s, "a", &ia) == SLOTS_E_NOT_FOUND && holds(&s, "b", &b), "a gone, b intact");

    /* A record of a newer format version is neither used nor destroyed. */
    uint32_t v2 = ib.sector == 0 ? 1u : 0u;
    for (uint32_t i = 0; i < RSAGEN_FLASH_SECTOR; i++) s_rf.mem[v2 * RSAGEN_FLASH_SECTOR + i] = (uint8_t)(i * 7);
    s_rf.mem[v2 * RSAGEN_FLASH_SECTOR + 0] = 0x72; /* "rsks" */
    s_rf.mem[v2 * RSAGEN_FLASH_SECTOR + 1] = 0x73;
    s_rf.mem[v2 * RSAGEN_FLASH_SECTOR + 2] = 0x6b;
    s_rf.mem[v2 * RSAGEN_FLASH_SECTOR + 3] = 0x73;
    s_rf.mem[v2 * RSAGEN_FLASH_SECTOR + 4] = 2;
    uint8_t before[RSAGEN_FLASH_SECTOR];
    memcpy(before, s_rf.mem + v2 * RSAGEN_FLASH_SECTOR, sizeof before);
    CHECK(rsagen_slots_mount(&s, &f) == SLOTS_OK && s.stats.foreign == 1 && s.stats.reclaimed == 0, "v2 record: foreign");
    CHECK(memcmp(before, s_rf.mem + v2 * RSAGEN_FLASH_SECTOR, sizeof before) == 0, "foreign sector untouched");
    CHECK(rsagen_slots_free(&s) == 5, "foreign sector counts as used (free %u)", rsagen_slots_free(&s));

    /* Two valid records of one name (a replace cut after the new commit): the newer wins. */
    rf_init(8, false);
    rsagen_slots_mount(&s, &f);
    store(&s, "x", &a, false);
    static uint8_t snap[FLASH_MAX];
    memcpy(snap, s_rf.mem, sizeof snap);
    store(&s, "x", &b, true);
    rsagen_slots_find(&s, "x", &ia);
    uint8_t newer[RSAGEN_FLASH_SECTOR];
    memcpy(newer, s_rf.mem + ia.sector * RSAGEN_FLASH_SECTOR, sizeof newer);
    memcpy(s_rf.mem, snap, sizeof snap);
    memcpy(s_rf.mem + ia.sector * RSAGEN_FLASH_SECTOR, newer, sizeof newer);
    CHECK(rsagen_slots_mount(&s, &f) == SLOTS_OK && s.stats.valid == 2 && s.stats.reclaimed == 1,
          "two valid: older reclaimed");
    CHECK(holds(&s, "x", &b) && copies_in_flash(&a) == 0, "newer one is the slot, older gone");
}

/* ---- power cut at every write ---------------------------------------------------------------- */

typedef enum { OP_STORE_EMPTY, OP_STORE_NEXT, OP_REPLACE, OP_DELETE, OP_REPLACE_4096 } op_t;
static const char *OP_NAMES[] = {"store into empty", "store next to another", "replace", "delete", "replace 4096"};

/* Sets up the flash before the operation (a clean mount), returns the mutation count of the setup. */
static void setup(op_t op, bool enc, const key_t_ *old_key, const key_t_ *other)
{
    rsagen_flash_t f = rf_init(6, enc);
    static rsagen_slots_t s;
    rsagen_slots_mount(&s, &f);
    if (op != OP_STORE_EMPTY) store(&s, "other", other, false);
    if (op == OP_REPLACE || op == OP_DELETE || op == OP_REPLACE_4096) store(&s, "dev", old_key, false);
}

static rsagen_slots_status_t run_op(rsagen_slots_t *s, op_t op, const key_t_ *new_key)
{
    rsagen_flash_t f = {.ctx = &s_rf, .size = s_rf.size, .encrypted = s_rf.enc, .read = rf_read, .read_raw = rf_read_raw,
                        .write = rf_write, .write_raw = rf_write_raw, .erase = rf_erase};
    if (rsagen_slots_mount(s, &f) != SLOTS_OK) return SLOTS_E_IO;
    switch (op) {
    case OP_DELETE: return rsagen_slots_delete(s, "dev", NULL);
    case OP_REPLACE:
    case OP_REPLACE_4096: return store(s, "dev", new_key, true);
    default: return store(s, "dev", new_key, false);
    }
}

static void power_cut_sweep(op_t op, bool enc, bool none)
{
    static uint8_t initial[FLASH_MAX];
    static rsagen_slots_t s;
    uint16_t bits = op == OP_REPLACE_4096 ? 4096 : 2048;
    key_t_ old_key = make_key(100 + op, bits), new_key = make_key(200 + op, bits), other = make_key(300, 1024);
    setup(op, enc, &old_key, &other);
    memcpy(initial, s_rf.mem, sizeof initial);

    /* Uncut run: how many mutations the operation takes. */
    s_rf.mutations = 0;
    CHECK(run_op(&s, op, &new_key) == SLOTS_OK, "%s: uncut run", OP_NAMES[op]);
    long total = s_rf.mutations;
    CHECK(total >= 2, "%s: %ld flash mutations", OP_NAMES[op], total);

    unsigned old_states = 0, new_states = 0;
    for (long k = 1; k <= total; k++) {
        memcpy(s_rf.mem, initial, sizeof initial);
        s_rf.mutations = 0;
        s_rf.dead = false;
        s_rf.cut_at = k;
        s_rf.cut_none = none;
        (void)run_op(&s, op, &new_key);
        bool cut = s_rf.dead;
        /* Power back: mount (which reclaims), then look. */
        s_rf.dead = false;
        s_rf.cut_at = 0;
        rsagen_flash_t f = {.ctx = &s_rf, .size = s_rf.size, .encrypted = enc, .read = rf_read, .read_raw = rf_read_raw,
                            .write = rf_write, .write_raw = rf_write_raw, .erase = rf_erase};
        CHECK(cut && rsagen_slots_mount(&s, &f) == SLOTS_OK, "%s, cut at %ld: cut happened, remount", OP_NAMES[op], k);
        rsagen_slot_info_t info;
        bool present = rsagen_slots_find(&s, "dev", &info) == SLOTS_OK;
        bool is_old = false, is_new = false;
        if (op == OP_STORE_EMPTY || op == OP_STORE_NEXT) {
            is_old = !present;
            is_new = present && holds(&s, "dev", &new_key);
        } else if (op == OP_DELETE) {
            is_old = present && holds(&s, "dev", &old_key);
            is_new = !present;
        } else {
            is_old = present && holds(&s, "dev", &old_key);
            is_new = present && holds(&s, "dev", &new_key);
        }
        old_states += is_old;
        new_states += is_new;
        CHECK(is_old != is_new, "%s, cut at %ld of %ld: exactly the old or the new state (old %d new %d present %d)",
              OP_NAMES[op], k, total, is_old, is_new, present);
        if (op != OP_STORE_EMPTY) CHECK(holds(&s, "other", &other), "%s, cut at %ld: other slot intact", OP_NAMES[op], k);
        /* After the remount's reclaim, a key is in flash only where it is live. */
        unsigned old_copies = copies_in_flash(&old_key), new_copies = copies_in_flash(&new_key);
        bool old_live = op != OP_STORE_EMPTY && op != OP_STORE_NEXT && is_old;
        CHECK(old_copies == (old_live ? 1u : 0u) && new_copies == (is_new && op != OP_DELETE ? 1u : 0u),
              "%s, cut at %ld: copies old %u new %u", OP_NAMES[op], k, old_copies, new_copies);
        /* The reclaim is complete: a second mount finds nothing to do. */
        long before = s_rf.mutations;
        CHECK(rsagen_slots_mount(&s, &f) == SLOTS_OK && s.stats.reclaimed == 0 && s.stats.garbage == 0 &&
                  s_rf.mutations == before,
              "%s, cut at %ld: second mount is clean", OP_NAMES[op], k);
        /* And the store is usable: the operation can be repeated to completion. */
        if (is_old) CHECK(run_op(&s, op, &new_key) == SLOTS_OK, "%s, cut at %ld: retry succeeds", OP_NAMES[op], k);
    }
    /* Before the commit block is written nothing has happened; the delete is done by its first write. */
    CHECK(op == OP_DELETE ? old_states <= 1 : old_states >= 7, "%s: %u cuts kept the old state", OP_NAMES[op],
          old_states);
    printf("power cut sweep: %s%s, %s: %ld write points, %u old, %u new\n", OP_NAMES[op],
           enc ? " (encrypted)" : "", none ? "before the write" : "half the write", total, old_states, new_states);
}

/* A cut during the reclaim at mount itself: a replace stopped between the new record's commit and
 * the old record's scrub leaves two valid records; the mount that follows is cut at each write. */
static void test_cut_during_reclaim(void)
{
    static rsagen_slots_t s;
    static uint8_t initial[FLASH_MAX];
    key_t_ a = make_key(400, 2048), b = make_key(401, 2048);
    rsagen_flash_t f = rf_init(6, false);
    long k = 1;
    for (; k <= 40; k++) {
        rf_init(6, false);
        rsagen_slots_mount(&s, &f);
        store(&s, "dev", &a, false);
        s_rf.mutations = 0;
        s_rf.cut_at = k;
        s_rf.cut_none = true;
        store(&s, "dev", &b, true);
        s_rf.dead = false;
        s_rf.cut_at = 0;
        memcpy(initial, s_rf.mem, sizeof initial);
        s_rf.mutations = 0;
        rsagen_slots_mount(&s, &f);
        if (s.stats.valid == 2) break;
    }
    CHECK(k <= 40, "a replace cut between commit and scrub leaves two valid records (cut %ld)", k);
    long total = s_rf.mutations;
    CHECK(total >= 3 && holds(&s, "dev", &b) && copies_in_flash(&a) == 0, "uncut reclaim: newer wins (%ld writes)",
          total);
    for (int none = 0; none <= 1; none++) {
        for (long j = 1; j <= total; j++) {
            memcpy(s_rf.mem, initial, sizeof initial);
            s_rf.mutations = 0;
            s_rf.cut_at = j;
            s_rf.cut_none = none != 0;
            rsagen_slots_mount(&s, &f);
            s_rf.dead = false;
            s_rf.cut_at = 0;
            CHECK(rsagen_slots_mount(&s, &f) == SLOTS_OK && holds(&s, "dev", &b) && copies_in_flash(&a) == 0,
                  "reclaim cut at %ld of %ld: the newer key, no old copy", j, total);
        }
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint8_t check[] = "123456789";
    CHECK(rsagen_slots_crc32(0, check, 9) == 0xCBF43926u, "crc32 check value");
    test_names();
    test_basic(false);
    test_basic(true);
    test_full();
    test_damage();
    for (int enc = 0; enc <= 1; enc++) {
        for (int none = 0; none <= 1; none++) {
            for (op_t op = OP_STORE_EMPTY; op <= OP_REPLACE_4096; op++) power_cut_sweep(op, enc != 0, none != 0);
        }
    }
    test_cut_during_reclaim();
    printf("%d passed, %d failed\n", s_pass, s_fail);
    return s_fail == 0 ? 0 : 1;
}
