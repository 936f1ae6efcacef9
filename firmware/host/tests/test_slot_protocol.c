/*
 * C tests of the key-slot requests through the real command loop (slot_handlers.c, the keygen job's
 * KEEP sink, the CSR/SIGN slot job) with a scripted console and an in-memory NOR flash as the key
 * partition: HELLO's storage tail, KEEP (BUSY for a second one while it runs, the same answer for a
 * resend, NOT_ALLOWED for the private key), SLOT_LIST/INFO/DELETE, SIGN (PSS and PKCS#1 v1.5,
 * verified with Mbed TLS), CSR (parsed and its signature verified with Mbed TLS), bad names and
 * subjects, an unknown slot, a full partition, cancel, and the firmware heap back to zero after
 * every job. Built in the normal and the sanitizer builds (test/firmware/slots-runner.test.ts).
 *
 * Prints one line per failure, then "N passed, M failed"; exit 0 only if nothing failed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "console.h"
#include "flash_posix.h"
#include "mbedtls/pk.h"
#include "mbedtls/x509_csr.h"
#include "os_posix.h"
#include "rsagen_mbedtls_compat.h"
#include "rsagen_os.h"
#include "rsagen_proto.h"
#include "rsagen_slots.h"
#include "test_console.h"

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

/* ---- the key partition: 16 sectors of in-memory NOR flash ----------------------------------- */

#define PART_SIZE (16u * RSAGEN_FLASH_SECTOR)
static uint8_t s_part[PART_SIZE];
static pthread_mutex_t s_part_mu = PTHREAD_MUTEX_INITIALIZER;

static int p_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    if (off > PART_SIZE || len > PART_SIZE - off) return -1;
    pthread_mutex_lock(&s_part_mu);
    memcpy(buf, s_part + off, len);
    pthread_mutex_unlock(&s_part_mu);
    return 0;
}

static int p_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
    (void)ctx;
    if (off > PART_SIZE || len > PART_SIZE - off) return -1;
    pthread_mutex_lock(&s_part_mu);
    const uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) s_part[off + i] &= b[i];
    pthread_mutex_unlock(&s_part_mu);
    return 0;
}

static int p_erase(void *ctx, uint32_t off, size_t len)
{
    (void)ctx;
    if (off % RSAGEN_FLASH_SECTOR || len % RSAGEN_FLASH_SECTOR || off > PART_SIZE || len > PART_SIZE - off) return -1;
    pthread_mutex_lock(&s_part_mu);
    memset(s_part + off, 0xFF, len);
    pthread_mutex_unlock(&s_part_mu);
    return 0;
}

static const rsagen_flash_t PART = {.size = PART_SIZE, .read = p_read, .read_raw = p_read, .write = p_write,
                                    .write_raw = p_write, .erase = p_erase};

/* ---- helpers --------------------------------------------------------------------------------- */

static uint16_t s_id = 1000;

static bool is_error(const tc_frame_t *f, uint16_t code)
{
    return f->type == (RSAGEN_MSG_ERROR | RSAGEN_PROTO_RESPONSE_FLAG) && f->length >= 4 &&
           rsagen_get_u16le(f->payload) == code;
}

static size_t put_name(uint8_t *p, const char *name)
{
    size_t n = strlen(name);
    p[0] = (uint8_t)n;
    memcpy(p + 1, name, n);
    return 1 + n;
}

/* Sends a request and waits for its answer (response or ERROR). */
static bool ask(uint8_t type, const uint8_t *payload, size_t len, tc_frame_t *f)
{
    uint16_t id = ++s_id;
    tc_send(type, id, payload, len);
    return tc_wait_answer(id, 30000, f);
}

static bool keep(const char *name, unsigned bits, bool replace, tc_frame_t *f, uint16_t *id_out)
{
    uint8_t p[64] = {0};
    rsagen_put_u16le(p + RSAGEN_KEEP_OFF_BITS, (uint16_t)bits);
    rsagen_put_u32le(p + RSAGEN_KEEP_OFF_EXPONENT, 65537);
    p[RSAGEN_KEEP_OFF_FLAGS] = replace ? RSAGEN_KEEP_FLAG_REPLACE : 0;
    size_t n = RSAGEN_KEEP_OFF_NAME + put_name(p + RSAGEN_KEEP_OFF_NAME, name);
    uint16_t id = ++s_id;
    if (id_out != NULL) *id_out = id;
    tc_send(RSAGEN_MSG_KEEP, id, p, n);
    return tc_wait_answer(id, 30000, f);
}

/* Waits for the job's DONE or FAILED event; returns its state (0 on timeout). */
static uint8_t wait_end(uint32_t job_id, tc_frame_t *status)
{
    for (int i = 0; i < 2; i++) {
        tc_frame_t f;
        if (tc_wait_frame(RSAGEN_EVT_DONE, 0, 120000, &f) ||
            tc_wait_frame(RSAGEN_EVT_FAILED, 0, 10, &f)) {
            if (rsagen_get_u32le(f.payload + RSAGEN_STATUS_OFF_JOB_ID) != job_id) continue;
            *status = f;
            return f.payload[RSAGEN_STATUS_OFF_STATE];
        }
    }
    return 0;
}

static size_t read_part(uint8_t part, size_t len, uint8_t *out)
{
    size_t off = 0;
    while (off < len) {
        uint8_t rd[RSAGEN_READ_REQ_LEN] = {0};
        rd[RSAGEN_READ_OFF_PART] = part;
        rsagen_put_u16le(rd + RSAGEN_READ_OFF_LENGTH, RSAGEN_READ_MAX_CHUNK);
        rsagen_put_u32le(rd + RSAGEN_READ_OFF_OFFSET, (uint32_t)off);
        tc_frame_t f;
        if (!ask(RSAGEN_MSG_READ, rd, sizeof rd, &f) || f.type != (RSAGEN_MSG_READ | 0x80)) break;
        uint16_t got = rsagen_get_u16le(f.payload + RSAGEN_READ_OFF_LENGTH);
        if (got == 0) break;
        memcpy(out + off, f.payload + RSAGEN_READ_RESP_HEADER_LEN, got);
        off += got;
    }
    return off;
}

static void release(void)
{
    tc_frame_t f;
    CHECK(ask(RSAGEN_MSG_RELEASE, NULL, 0, &f) && f.type == (RSAGEN_MSG_RELEASE | 0x80), "RELEASE");
    CHECK(rsagen_os_posix_heap_in_use() == 0, "job freed: firmware heap back to 0 (%zu)", rsagen_os_posix_heap_in_use());
}

/* Runs a KEEP to completion and releases it; returns the public key's DER length (0 on failure). */
static size_t keep_done(const char *name, unsigned bits, bool replace, uint8_t *pub)
{
    tc_frame_t f, st;
    if (!keep(name, bits, replace, &f, NULL) || f.type != (RSAGEN_MSG_KEEP | 0x80)) return 0;
    uint32_t job = rsagen_get_u32le(f.payload);
    if (wait_end(job, &st) != RSAGEN_STATE_DONE) return 0;
    size_t len = rsagen_get_u32le(st.payload + RSAGEN_STATUS_OFF_PUB_LEN);
    size_t got = pub != NULL ? read_part(RSAGEN_PART_PUB, len, pub) : len;
    release();
    return got == len ? len : 0;
}

static size_t slot_info(const char *name, uint8_t *pub, tc_frame_t *f)
{
    uint8_t p[40];
    size_t n = put_name(p, name);
    if (!ask(RSAGEN_MSG_SLOT_INFO, p, n, f) || f->type != (RSAGEN_MSG_SLOT_INFO | 0x80)) return 0;
    size_t pub_len = rsagen_get_u16le(f->payload + RSAGEN_SLOTINFO_OFF_PUB_LEN);
    size_t at = RSAGEN_SLOTINFO_FIXED_LEN + 1 + f->payload[RSAGEN_SLOTINFO_OFF_NAME];
    if (at + pub_len != f->length) return 0;
    memcpy(pub, f->payload + at, pub_len);
    return pub_len;
}

/* Runs a slot job (CSR or SIGN request already encoded), reads its output, releases. */
static size_t slot_job(uint8_t type, const uint8_t *req, size_t len, uint8_t *out, tc_frame_t *err)
{
    tc_frame_t f, st;
    if (!ask(type, req, len, &f)) return 0;
    if (f.type != (type | 0x80)) {
        *err = f;
        return 0;
    }
    uint32_t job = rsagen_get_u32le(f.payload);
    if (wait_end(job, &st) != RSAGEN_STATE_DONE) {
        *err = st;
        return 0;
    }
    CHECK(st.length == RSAGEN_STATUS_LEN && st.payload[RSAGEN_STATUS_OFF_KIND] ==
                                                (type == RSAGEN_MSG_CSR ? RSAGEN_JOB_CSR : RSAGEN_JOB_SIGN),
          "slot job status: 136 bytes, kind %u", st.payload[RSAGEN_STATUS_OFF_KIND]);
    size_t n = rsagen_get_u32le(st.payload + RSAGEN_STATUS_OFF_OUT_LEN);
    size_t got = read_part(RSAGEN_PART_OUTPUT, n, out);
    uint8_t sha[32];
    rsagen_sha256(out, got, sha);
    CHECK(got == n && memcmp(sha, st.payload + RSAGEN_STATUS_OFF_OUT_SHA256, 32) == 0, "output SHA-256 matches STATUS");
    release();
    return got;
}

static size_t sign_req(uint8_t *p, const char *name, uint8_t scheme, const uint8_t digest[32])
{
    memset(p, 0, RSAGEN_SIGN_FIXED_LEN);
    p[RSAGEN_SIGN_OFF_SCHEME] = scheme;
    p[RSAGEN_SIGN_OFF_HASH] = RSAGEN_HASH_SHA256;
    memcpy(p + RSAGEN_SIGN_OFF_DIGEST, digest, 32);
    return RSAGEN_SIGN_FIXED_LEN + put_name(p + RSAGEN_SIGN_OFF_NAME, name);
}

static size_t csr_req(uint8_t *p, const char *name, const char *subject, bool sans)
{
    p[RSAGEN_CSR_OFF_MD] = RSAGEN_HASH_SHA256;
    p[RSAGEN_CSR_OFF_RESERVED] = 0;
    rsagen_put_u16le(p + RSAGEN_CSR_OFF_SUBJECT_LEN, (uint16_t)strlen(subject));
    size_t n = RSAGEN_CSR_OFF_NAME + put_name(p + RSAGEN_CSR_OFF_NAME, name);
    memcpy(p + n, subject, strlen(subject));
    n += strlen(subject);
    if (!sans) {
        p[n++] = 0;
        return n;
    }
    p[n++] = 2;
    p[n++] = RSAGEN_SAN_DNS;
    p[n++] = 11;
    memcpy(p + n, "example.org", 11);
    n += 11;
    p[n++] = RSAGEN_SAN_IP;
    p[n++] = 4;
    const uint8_t ip[4] = {10, 0, 0, 7};
    memcpy(p + n, ip, 4);
    return n + 4;
}

static int rng(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return rsagen_os_entropy(out, len);
}

/* ---- the driver ------------------------------------------------------------------------------ */

static void *driver(void *arg)
{
    (void)arg;
    tc_frame_t f, st;
    CHECK(tc_wait_frame(RSAGEN_EVT_BOOT, 0, 5000, &f), "BOOT");
    uint16_t feat = rsagen_get_u16le(f.payload + RSAGEN_BOOT_OFF_FEATURES);
    CHECK((feat & RSAGEN_FEAT_KEY_SLOTS) && (feat & RSAGEN_FEAT_SLOT_CSR), "features: key slots and CSR");

    CHECK(ask(RSAGEN_MSG_HELLO, NULL, 0, &f) && f.type == 0x81, "HELLO");
    /* The tail follows the four strings. */
    size_t at = RSAGEN_HELLO_FIXED_LEN;
    for (int i = 0; i < 4; i++) at += 1u + f.payload[at];
    CHECK(f.length >= at + RSAGEN_HELLO_TAIL_LEN, "HELLO has the storage tail (%u bytes)", f.length);
    uint16_t sflags = rsagen_get_u16le(f.payload + at + RSAGEN_HELLO_TAIL_OFF_STORE_FLAGS);
    CHECK(sflags == RSAGEN_STORE_PARTITION, "storage: partition, no flash encryption (0x%x)", sflags);
    CHECK(f.payload[at + RSAGEN_HELLO_TAIL_OFF_SLOTS_USED] == 0 && f.payload[at + RSAGEN_HELLO_TAIL_OFF_SLOTS_CAP] == 15,
          "0 of 15 slots");

    uint8_t first = 0;
    CHECK(ask(RSAGEN_MSG_SLOT_LIST, &first, 1, &f) && f.type == 0x89 && f.payload[RSAGEN_SLOTLIST_OFF_TOTAL] == 0 &&
              f.payload[RSAGEN_SLOTLIST_OFF_CAPACITY] == 15 && f.payload[RSAGEN_SLOTLIST_OFF_FREE] == 15 &&
              rsagen_get_u32le(f.payload + RSAGEN_SLOTLIST_OFF_PART_SIZE) == PART_SIZE,
          "SLOT_LIST empty, 15 free");
    uint8_t p[1024];
    size_t n = put_name(p, "nope");
    CHECK(ask(RSAGEN_MSG_SLOT_INFO, p, n, &f) && is_error(&f, RSAGEN_ERR_SLOT_NOT_FOUND), "SLOT_INFO unknown: NOT_FOUND");
    CHECK(ask(RSAGEN_MSG_SLOT_DELETE, p, n, &f) && is_error(&f, RSAGEN_ERR_SLOT_NOT_FOUND), "DELETE unknown: NOT_FOUND");
    n = put_name(p, "a b");
    CHECK(ask(RSAGEN_MSG_SLOT_INFO, p, n, &f) && is_error(&f, RSAGEN_ERR_BAD_ARGS), "bad name: BAD_ARGS");
    CHECK(ask(RSAGEN_MSG_SLOT_INFO, NULL, 0, &f) && is_error(&f, RSAGEN_ERR_BAD_ARGS), "no name: BAD_ARGS");
    p[0] = 40; /* length beyond the payload */
    CHECK(ask(RSAGEN_MSG_SLOT_DELETE, p, 5, &f) && is_error(&f, RSAGEN_ERR_BAD_ARGS), "truncated name: BAD_ARGS");
    CHECK(keep("-dash", 2048, false, &f, NULL) && is_error(&f, RSAGEN_ERR_BAD_ARGS), "KEEP bad name: BAD_ARGS");

    /* KEEP a 4096-bit key: long enough that the requests below meet it running. */
    uint16_t kid;
    CHECK(keep("dev", 4096, false, &f, &kid) && f.type == 0x8C, "KEEP accepted");
    uint32_t job = rsagen_get_u32le(f.payload);
    uint8_t kp[64] = {0};
    rsagen_put_u16le(kp + RSAGEN_KEEP_OFF_BITS, 4096);
    rsagen_put_u32le(kp + RSAGEN_KEEP_OFF_EXPONENT, 65537);
    size_t kn = RSAGEN_KEEP_OFF_NAME + put_name(kp + RSAGEN_KEEP_OFF_NAME, "dev");
    tc_send(RSAGEN_MSG_KEEP, kid, kp, kn); /* a resend: same id, same payload */
    CHECK(tc_wait_answer(kid, 5000, &f) && f.type == 0x8C && rsagen_get_u32le(f.payload) == job,
          "KEEP resend gets the same job id");
    CHECK(keep("dev2", 2048, false, &f, NULL) && is_error(&f, RSAGEN_ERR_BUSY), "second KEEP while one runs: BUSY");
    uint8_t kg[RSAGEN_KEYGEN_REQ_LEN] = {0};
    rsagen_put_u16le(kg, 2048);
    rsagen_put_u32le(kg + 4, 65537);
    CHECK(ask(RSAGEN_MSG_KEYGEN, kg, sizeof kg, &f) && is_error(&f, RSAGEN_ERR_BUSY), "KEYGEN while KEEP runs: BUSY");
    CHECK(ask(RSAGEN_MSG_SLOT_LIST, &first, 1, &f) && is_error(&f, RSAGEN_ERR_BUSY),
          "SLOT_LIST while KEEP writes the partition: BUSY");
    CHECK(wait_end(job, &st) == RSAGEN_STATE_DONE, "KEEP done");
    CHECK(st.payload[RSAGEN_STATUS_OFF_KIND] == RSAGEN_JOB_KEEP &&
              rsagen_get_u32le(st.payload + RSAGEN_STATUS_OFF_PRIV_LEN) == 0,
          "status: kind KEEP, no private part");
    size_t pub_len = rsagen_get_u32le(st.payload + RSAGEN_STATUS_OFF_PUB_LEN);
    uint8_t rd[RSAGEN_READ_REQ_LEN] = {0};
    rsagen_put_u16le(rd + RSAGEN_READ_OFF_LENGTH, 16);
    CHECK(ask(RSAGEN_MSG_READ, rd, sizeof rd, &f) && is_error(&f, RSAGEN_ERR_NOT_ALLOWED), "READ private: NOT_ALLOWED");
    static uint8_t pub[1024], pub2[1024];
    CHECK(read_part(RSAGEN_PART_PUB, pub_len, pub) == pub_len, "READ public");
    release();

    CHECK(keep("dev", 2048, false, &f, NULL) && is_error(&f, RSAGEN_ERR_SLOT_EXISTS), "KEEP existing: SLOT_EXISTS");
    CHECK(slot_info("dev", pub2, &f) == pub_len && memcmp(pub, pub2, pub_len) == 0, "SLOT_INFO: the kept public key");
    CHECK(rsagen_get_u16le(f.payload + RSAGEN_SLOTINFO_OFF_BITS) == 4096, "SLOT_INFO: 4096 bits");

    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    CHECK(mbedtls_pk_parse_public_key(&pk, pub, pub_len) == 0 && mbedtls_pk_get_bitlen(&pk) == 4096, "public key parses");

    /* SIGN, both schemes, verified with Mbed TLS. */
    uint8_t digest[32];
    rsagen_sha256((const uint8_t *)"rsagen slot test", 16, digest);
    static uint8_t out[4096];
    for (uint8_t scheme = 0; scheme <= 1; scheme++) {
        n = sign_req(p, "dev", scheme, digest);
        size_t sl = slot_job(RSAGEN_MSG_SIGN, p, n, out, &f);
        CHECK(sl == 512, "SIGN scheme %u: 512-byte signature", scheme);
        int v;
        if (scheme == RSAGEN_SIGN_PSS) {
            mbedtls_pk_rsassa_pss_options o = {.mgf1_hash_id = MBEDTLS_MD_SHA256, .expected_salt_len = 32};
            v = mbedtls_pk_verify_ext(MBEDTLS_PK_RSASSA_PSS, &o, &pk, MBEDTLS_MD_SHA256, digest, 32, out, sl);
        } else {
            v = mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, digest, 32, out, sl);
        }
        CHECK(v == 0, "SIGN scheme %u verifies (-0x%04x)", scheme, (unsigned)-v);
        digest[0] ^= 1;
        CHECK(mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, digest, 32, out, sl) != 0, "another digest does not verify");
        digest[0] ^= 1;
    }
    n = sign_req(p, "ghost", 1, digest);
    CHECK(ask(RSAGEN_MSG_SIGN, p, n, &f) && is_error(&f, RSAGEN_ERR_SLOT_NOT_FOUND), "SIGN unknown slot: NOT_FOUND");
    n = sign_req(p, "dev", 2, digest);
    CHECK(ask(RSAGEN_MSG_SIGN, p, n, &f) && is_error(&f, RSAGEN_ERR_BAD_ARGS), "SIGN scheme 2: BAD_ARGS");

    /* CSR: parsed, key and signature checked with Mbed TLS. */
    n = csr_req(p, "dev", "CN=device-42,O=Example,C=DE", true);
    size_t cl = slot_job(RSAGEN_MSG_CSR, p, n, out, &f);
    CHECK(cl > 600, "CSR of %zu bytes", cl);
    mbedtls_x509_csr csr;
    mbedtls_x509_csr_init(&csr);
    CHECK(mbedtls_x509_csr_parse_der(&csr, out, cl) == 0, "CSR parses");
    uint8_t h[32], spki[1024];
    rsagen_sha256(csr.cri.p, csr.cri.len, h);
    CHECK(mbedtls_pk_verify(&csr.pk, MBEDTLS_MD_SHA256, h, 32, csr.MBEDTLS_PRIVATE(sig).p,
                            csr.MBEDTLS_PRIVATE(sig).len) == 0,
          "CSR signature verifies with its key");
    int sn = mbedtls_pk_write_pubkey_der(&csr.pk, spki, sizeof spki);
    CHECK(sn == (int)pub_len && memcmp(spki + sizeof spki - sn, pub, pub_len) == 0, "CSR key is the slot's key");
    char dn[256];
    CHECK(mbedtls_x509_dn_gets(dn, sizeof dn, &csr.subject) > 0 && strcmp(dn, "CN=device-42, O=Example, C=DE") == 0,
          "CSR subject (%s)", dn);
    mbedtls_x509_csr_free(&csr);
    n = csr_req(p, "dev", "XX=nope", false);
    CHECK(ask(RSAGEN_MSG_CSR, p, n, &f) && is_error(&f, RSAGEN_ERR_BAD_ARGS), "CSR bad subject: BAD_ARGS");
    CHECK(rsagen_os_posix_heap_in_use() == 0, "refused CSR leaves nothing allocated");
    n = csr_req(p, "ghost", "CN=x", false);
    CHECK(ask(RSAGEN_MSG_CSR, p, n, &f) && is_error(&f, RSAGEN_ERR_SLOT_NOT_FOUND), "CSR unknown slot: NOT_FOUND");

    /* Cancel a SIGN: answered only after the task exited; nothing stays allocated. */
    n = sign_req(p, "dev", 0, digest);
    CHECK(ask(RSAGEN_MSG_SIGN, p, n, &f) && f.type == 0x8E, "SIGN accepted");
    CHECK(ask(RSAGEN_MSG_CANCEL, NULL, 0, &f) && f.type == 0x85, "CANCEL answered");
    CHECK(rsagen_os_posix_heap_in_use() == 0, "cancelled slot job freed");
    (void)tc_wait_frame(RSAGEN_EVT_DONE, 0, 50, &f); /* a DONE may have gone out before the cancel */

    /* Fill the partition: 15 slots, the 16th sector stays spare for replaces. */
    unsigned kept = 1;
    for (unsigned i = 1; i <= 14; i++) {
        char name[8];
        snprintf(name, sizeof name, "k%u", i);
        kept += keep_done(name, 1024, false, NULL) > 0;
    }
    CHECK(kept == 15, "15 slots kept (%u)", kept);
    CHECK(ask(RSAGEN_MSG_SLOT_LIST, &first, 1, &f) && f.payload[RSAGEN_SLOTLIST_OFF_TOTAL] == 15 &&
              f.payload[RSAGEN_SLOTLIST_OFF_COUNT] == 15 && f.payload[RSAGEN_SLOTLIST_OFF_FREE] == 0,
          "SLOT_LIST: 15 used, 0 free");
    CHECK(keep("k15", 1024, false, &f, NULL) && is_error(&f, RSAGEN_ERR_SLOTS_FULL), "16th slot: SLOTS_FULL");
    CHECK(keep_done("dev", 1024, true, pub2) > 0, "replace works in a full partition (spare sector)");
    CHECK(slot_info("dev", out, &f) > 0 && rsagen_get_u16le(f.payload + RSAGEN_SLOTINFO_OFF_BITS) == 1024,
          "dev now holds the 1024-bit key");
    n = put_name(p, "k1");
    CHECK(ask(RSAGEN_MSG_SLOT_DELETE, p, n, &f) && f.type == 0x8B, "DELETE k1");
    CHECK(keep_done("k15", 1024, false, NULL) > 0, "a deleted slot makes room");
    n = put_name(p, "k1");
    CHECK(ask(RSAGEN_MSG_SLOT_INFO, p, n, &f) && is_error(&f, RSAGEN_ERR_SLOT_NOT_FOUND), "k1 gone");

    /* The flash agrees: a fresh mount finds the same 15 slots and nothing to reclaim. */
    static rsagen_slots_t again;
    CHECK(rsagen_slots_mount(&again, &PART) == SLOTS_OK && rsagen_slots_count(&again) == 15 &&
              again.stats.reclaimed == 0 && again.stats.garbage == 0,
          "remount: 15 slots, clean");
    mbedtls_pk_free(&pk);
    (void)rng;

    uint8_t mode = RSAGEN_REBOOT_NORMAL;
    CHECK(ask(RSAGEN_MSG_REBOOT, &mode, 1, &f) && f.type == 0x88, "REBOOT");
    return NULL;
}

static void console_log_sink(const uint8_t *bytes, size_t len) { rsagen_console_write(bytes, len); }

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(s_part, 0xFF, sizeof s_part);
    os_posix_config_t cfg = {.wdt_timeout_ms = 5000, .cores = 1, .console_write = console_log_sink};
    rsagen_os_posix_init(&cfg);
    rsagen_flash_posix_use(&PART);
    pthread_t t;
    pthread_create(&t, NULL, driver, NULL);
    app_exit_t why = rsagen_app_run();
    pthread_join(t, NULL);
    CHECK(why == APP_EXIT_REBOOT, "loop returned for the reboot");
    CHECK(tc_text_contains("0 of 15 key slots used"), "mount logged");
    CHECK(rsagen_os_posix_heap_in_use() == 0, "nothing allocated at the end");
    printf("%d passed, %d failed\n", s_pass, s_fail);
    return s_fail == 0 ? 0 : 1;
}
