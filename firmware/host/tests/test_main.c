/*
 * C test runner for the firmware's host build. Prints one line per check failure, then
 * "N passed, M failed"; exit status 0 only if nothing failed. test/firmware (vitest) runs it in the
 * normal, sanitizer (ASan+UBSan, which also reports leaks at exit) and no-crypto-extra builds.
 *
 *   rsagen-fw-tests [--out DIR] [--big]
 *     --out DIR  write the generated keys (DER) there for node:crypto / openssl verification
 *     --big      also generate a 4096-bit key (slow under the sanitizers)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "console.h"
#include "os_posix.h"
#include "rsagen_config.h"
#include "rsagen_os.h"
#include "rsagen_proto.h"
#include "test_console.h"

#if CONFIG_TOIT_CRYPTO_EXTRA
#include "keygen_job.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "rsagen_mbedtls_compat.h"
#endif

static int s_pass, s_fail;
static const char *s_out_dir;
static bool s_big;

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

#if CONFIG_TOIT_CRYPTO_EXTRA

static int test_rng(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return rsagen_os_entropy(out, len) == 0 ? 0 : -1;
}

static void write_file(const char *name, const uint8_t *data, size_t len)
{
    if (s_out_dir == NULL) return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_out_dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    if (f == NULL) return;
    CHECK(fwrite(data, 1, len, f) == len, "short write %s", path);
    fclose(f);
}

static void test_validate(void)
{
    CHECK(rsagen_keygen_validate(1024, 65537) == KEYGEN_OK, "1024 ok");
    CHECK(rsagen_keygen_validate(4096, 3) == KEYGEN_OK, "4096/e=3 ok");
    CHECK(rsagen_keygen_validate(2056, 65537) == KEYGEN_OK, "2056 ok");
    CHECK(rsagen_keygen_validate(1016, 65537) == KEYGEN_E_BITS, "1016 rejected");
    CHECK(rsagen_keygen_validate(4104, 65537) == KEYGEN_E_BITS, "4104 rejected");
    CHECK(rsagen_keygen_validate(2050, 65537) == KEYGEN_E_BITS, "2050 (not multiple of 8) rejected");
    CHECK(rsagen_keygen_validate(0, 65537) == KEYGEN_E_BITS, "0 rejected");
    CHECK(rsagen_keygen_validate(2048, 1) == KEYGEN_E_EXPONENT, "e=1 rejected");
    CHECK(rsagen_keygen_validate(2048, 65536) == KEYGEN_E_EXPONENT, "even e rejected");
    CHECK(rsagen_keygen_validate(2048, 0x80000001u) == KEYGEN_E_EXPONENT, "e > INT32_MAX rejected");
    keygen_job_t *job = (keygen_job_t *)1;
    CHECK(rsagen_keygen_job_create(&job, 1000, 65537, 1) == KEYGEN_E_BITS && job == NULL, "create rejects bits, out NULL");
    CHECK(rsagen_os_posix_heap_in_use() == 0, "nothing allocated by a rejected create");
}

static void test_der_bounds(void)
{
    /* Known exact sizes: a 2048-bit SPKI with e=65537 is 294 bytes; PKCS#1 private 1190..1193. */
    CHECK(rsagen_keygen_pub_der_max(2048) >= 294 && rsagen_keygen_pub_der_max(2048) <= 300, "pub max 2048 = %zu",
          rsagen_keygen_pub_der_max(2048));
    CHECK(rsagen_keygen_priv_der_max(2048) >= 1193 && rsagen_keygen_priv_der_max(2048) <= 1220, "priv max 2048 = %zu",
          rsagen_keygen_priv_der_max(2048));
    for (unsigned b = 1024; b < 4096; b += 8) {
        if (rsagen_keygen_priv_der_max(b + 8) < rsagen_keygen_priv_der_max(b)) {
            CHECK(false, "priv max not monotonic at %u", b);
            break;
        }
    }
}

/* Waits for the job as the command loop does: supervising it every 10 ms, or its watchdog entry
 * would go unreset and the emulated watchdog fire. */
static bool wait_supervised(keygen_job_t *job, uint32_t timeout_ms)
{
    for (uint32_t waited = 0; waited < timeout_ms; waited += 10u) {
        if (rsagen_keygen_job_wait(job, 10)) return true;
        rsagen_keygen_job_supervise(job);
    }
    return rsagen_keygen_job_wait(job, 0);
}

/* Generates a key with the job (task), checks it with mbedtls and writes it out. */
static void generate_and_verify(unsigned bits)
{
    keygen_job_t *job = NULL;
    CHECK(rsagen_keygen_job_create(&job, bits, 65537, bits) == KEYGEN_OK, "create %u", bits);
    if (job == NULL) return;
    CHECK(rsagen_keygen_job_start(job) == KEYGEN_OK, "start %u", bits);
    CHECK(wait_supervised(job, 600000), "job %u finished", bits);
    keygen_info_t info;
    rsagen_keygen_job_info(job, &info);
    CHECK(info.state == KEYGEN_STATE_DONE, "%u: state %d err %d", bits, info.state, (int)info.mbedtls_err);
    CHECK(info.rng_calls > 0, "%u: rng calls counted", bits);
    CHECK(info.priv_len > 0 && info.priv_len <= rsagen_keygen_priv_der_max(bits), "%u: priv len %zu <= max %zu", bits,
          info.priv_len, rsagen_keygen_priv_der_max(bits));
    CHECK(info.pub_len > 0 && info.pub_len <= rsagen_keygen_pub_der_max(bits), "%u: pub len %zu", bits, info.pub_len);

    size_t plen = 0, qlen = 0;
    const uint8_t *priv = rsagen_keygen_job_part(job, KEYGEN_PART_PRIVATE, &plen);
    const uint8_t *pub = rsagen_keygen_job_part(job, KEYGEN_PART_PUBLIC, &qlen);
    CHECK(priv != NULL && priv[0] == 0x30, "%u: private DER at buffer start", bits);
    CHECK(pub != NULL && pub[0] == 0x30, "%u: public DER at buffer start", bits);
    if (priv == NULL || pub == NULL) {
        rsagen_keygen_job_destroy(job);
        return;
    }
    mbedtls_pk_context prv, pb;
    mbedtls_pk_init(&prv);
    mbedtls_pk_init(&pb);
    CHECK(rsagen_pk_parse_key(&prv, priv, plen, test_rng, NULL) == 0, "%u: private parses", bits);
    CHECK(mbedtls_pk_parse_public_key(&pb, pub, qlen) == 0, "%u: public parses", bits);
    CHECK(mbedtls_pk_get_bitlen(&prv) == bits, "%u: modulus bits %zu", bits, mbedtls_pk_get_bitlen(&prv));
    CHECK(rsagen_pk_check_pair(&pb, &prv, test_rng, NULL) == 0, "%u: pair matches", bits);
    CHECK(mbedtls_rsa_check_privkey(mbedtls_pk_rsa(prv)) == 0, "%u: private key consistent", bits);
    unsigned char hash[32], sig[512];
    size_t sig_len = 0;
    rsagen_sha256((const unsigned char *)"rsagen", 6, hash);
    CHECK(rsagen_pk_sign(&prv, MBEDTLS_MD_SHA256, hash, 32, sig, sizeof sig, &sig_len, test_rng, NULL) == 0,
          "%u: sign", bits);
    CHECK(mbedtls_pk_verify(&pb, MBEDTLS_MD_SHA256, hash, 32, sig, sig_len) == 0, "%u: verify", bits);
    hash[0] ^= 1;
    CHECK(mbedtls_pk_verify(&pb, MBEDTLS_MD_SHA256, hash, 32, sig, sig_len) != 0, "%u: verify rejects", bits);
    mbedtls_pk_free(&prv);
    mbedtls_pk_free(&pb);

    char name[64];
    snprintf(name, sizeof name, "key%u.der", bits);
    write_file(name, priv, plen);
    snprintf(name, sizeof name, "key%u.pub.der", bits);
    write_file(name, pub, qlen);
    rsagen_keygen_job_destroy(job);
    CHECK(rsagen_os_posix_heap_in_use() == 0, "%u: all firmware buffers freed", bits);
}

static void test_cancel(void)
{
    keygen_job_t *job = NULL;
    keygen_info_t info;
    /* Cancel after 20 RNG calls; a 4096-bit key needs well over 1000, but retry if a stalled host
     * let one finish before we looked. */
    for (int attempt = 0; attempt < 3; attempt++) {
        CHECK(rsagen_keygen_job_create(&job, 4096, 65537, 7) == KEYGEN_OK, "create 4096 for cancel");
        if (job == NULL) return;
        CHECK(rsagen_keygen_job_start(job) == KEYGEN_OK, "start");
        for (int i = 0; i < 5000; i++) {
            rsagen_keygen_job_info(job, &info);
            if (info.rng_calls >= 20 || info.state != KEYGEN_STATE_RUNNING) break;
            rsagen_os_delay_ticks(1);
        }
        if (info.state == KEYGEN_STATE_RUNNING) break;
        rsagen_keygen_job_destroy(job);
        job = NULL;
    }
    if (job == NULL) return;
    CHECK(info.state == KEYGEN_STATE_RUNNING, "still running mid-generation (%u calls)", (unsigned)info.rng_calls);
    rsagen_keygen_job_cancel(job);
    CHECK(wait_supervised(job, 60000), "task exits after cancel");
    rsagen_keygen_job_info(job, &info);
    CHECK(info.state == KEYGEN_STATE_CANCELLED, "state CANCELLED (%d)", info.state);
    CHECK(info.mbedtls_err == KEYGEN_ERR_CANCELLED, "distinct cancel code returned unchanged (%d)",
          (int)info.mbedtls_err);
    size_t len = 1;
    CHECK(rsagen_keygen_job_part(job, KEYGEN_PART_PRIVATE, &len) == NULL && len == 0, "no key after cancel");
    rsagen_keygen_job_destroy(job);
    CHECK(rsagen_os_posix_heap_in_use() == 0, "cancel leaves nothing allocated");

    /* Destroy while running: must cancel and join before freeing (ASan would see a use-after-free). */
    job = NULL;
    CHECK(rsagen_keygen_job_create(&job, 4096, 65537, 8) == KEYGEN_OK, "create 4096 for destroy");
    if (job == NULL) return;
    CHECK(rsagen_keygen_job_start(job) == KEYGEN_OK, "start");
    rsagen_os_delay_ticks(5);
    rsagen_keygen_job_destroy(job);
    CHECK(rsagen_os_posix_heap_in_use() == 0, "destroy while running frees everything");
}

static void test_oom(void)
{
    /* Allocation points of rsagen_keygen_job_create, in order: job, private buffer, public buffer. */
    for (long k = 1; k <= 3; k++) {
        keygen_job_t *job = (keygen_job_t *)1;
        rsagen_os_posix_fail_alloc_at(k);
        keygen_status_t st = rsagen_keygen_job_create(&job, 2048, 65537, 1);
        rsagen_os_posix_fail_alloc_at(0);
        CHECK(st == KEYGEN_E_NO_MEM, "allocation %ld failing gives NO_MEM (%d)", k, st);
        CHECK(job == NULL, "allocation %ld failing: no job", k);
        CHECK(rsagen_os_posix_heap_in_use() == 0, "allocation %ld failing leaves nothing allocated", k);
    }
    keygen_job_t *job = NULL;
    CHECK(rsagen_keygen_job_create(&job, 2048, 65537, 1) == KEYGEN_OK, "create after OOM");
    rsagen_os_posix_fail_next_task_start();
    CHECK(rsagen_keygen_job_start(job) == KEYGEN_E_NO_MEM, "task creation failing gives NO_MEM");
    rsagen_keygen_job_destroy(job);
    CHECK(rsagen_os_posix_heap_in_use() == 0, "failed start, destroy frees everything");
}

#endif /* CONFIG_TOIT_CRYPTO_EXTRA */

/* ---- protocol through the command loop ------------------------------------------------------- */

static uint16_t err_code(const tc_frame_t *f) { return rsagen_get_u16le(f->payload + RSAGEN_ERROR_OFF_CODE); }

static bool is_error(const tc_frame_t *f, uint16_t code)
{
    return f->type == (RSAGEN_MSG_ERROR | RSAGEN_PROTO_RESPONSE_FLAG) && f->length >= 4 && err_code(f) == code;
}

static void *protocol_driver(void *arg)
{
    (void)arg;
    tc_frame_t f;
    uint16_t id = 100;
    CHECK(tc_wait_frame(RSAGEN_EVT_BOOT, 0, 5000, &f), "BOOT event");

    tc_send(RSAGEN_MSG_HELLO, ++id, NULL, 0);
    CHECK(tc_wait_answer(id, 5000, &f) && f.type == 0x81 && f.length > RSAGEN_HELLO_FIXED_LEN, "HELLO answered");
    uint16_t feat = rsagen_get_u16le(f.payload + RSAGEN_HELLO_OFF_FEATURES);
#if CONFIG_TOIT_CRYPTO_EXTRA
    CHECK((feat & RSAGEN_FEAT_CRYPTO_EXTRA) != 0, "HELLO reports crypto-extra");
#else
    CHECK((feat & RSAGEN_FEAT_CRYPTO_EXTRA) == 0, "HELLO reports no crypto-extra");
#endif
    CHECK((feat & RSAGEN_FEAT_HW_MPI) == 0, "host build has no hardware MPI");

    /* HELLO of another version is still answered (version-proof); other requests get VERSION. */
    uint8_t fr[RSAGEN_PROTO_MAX_FRAME];
    size_t n = rsagen_proto_encode_version(fr, sizeof fr, 2, RSAGEN_MSG_HELLO, ++id, NULL, 0);
    tc_push(fr, n);
    CHECK(tc_wait_answer(id, 5000, &f) && f.type == 0x81 && f.version == RSAGEN_PROTO_VERSION, "HELLO v2 answered");
    n = rsagen_proto_encode_version(fr, sizeof fr, 2, RSAGEN_MSG_PING, ++id, NULL, 0);
    tc_push(fr, n);
    CHECK(tc_wait_answer(id, 5000, &f) && is_error(&f, RSAGEN_ERR_VERSION), "PING v2 gets VERSION");

    uint8_t ping[300];
    for (size_t i = 0; i < sizeof ping; i++) ping[i] = (uint8_t)(i * 7);
    tc_send(RSAGEN_MSG_PING, ++id, ping, sizeof ping);
    CHECK(tc_wait_answer(id, 5000, &f) && f.type == 0x82 && f.length == sizeof ping &&
              memcmp(f.payload, ping, sizeof ping) == 0,
          "PING echoes");

    tc_send(0x3E, ++id, NULL, 0);
    CHECK(tc_wait_answer(id, 5000, &f) && is_error(&f, RSAGEN_ERR_UNKNOWN_TYPE), "unknown type");

    /* Corrupt CRC, truncated frame, noise: ignored; the next good frame is still answered. */
    n = rsagen_proto_encode(fr, sizeof fr, RSAGEN_MSG_PING, ++id, ping, 8);
    fr[n - 1] ^= 0xFF;
    tc_push(fr, n);
    tc_push((const uint8_t *)"\xC1\xF5\x01\x02", 4);
    tc_push((const uint8_t *)"garbage line\r\n", 14);
    tc_send(RSAGEN_MSG_PING, ++id, ping, 4);
    CHECK(tc_wait_answer(id, 5000, &f) && f.type == 0x82, "good frame after bad ones answered");
    CHECK(!tc_wait_answer((uint16_t)(id - 1), 50, &f), "corrupt frame not answered");

    uint8_t kg[RSAGEN_KEYGEN_REQ_LEN] = {0};
    rsagen_put_u16le(kg, 2048);
    rsagen_put_u32le(kg + 4, 65537);
    uint8_t rd[RSAGEN_READ_REQ_LEN] = {0};
    rsagen_put_u16le(rd + RSAGEN_READ_OFF_LENGTH, 1016);
    tc_send(RSAGEN_MSG_READ, ++id, rd, sizeof rd);
    CHECK(tc_wait_answer(id, 5000, &f) && is_error(&f, RSAGEN_ERR_NO_JOB), "READ without job is NO_JOB");
    tc_send(RSAGEN_MSG_CANCEL, ++id, NULL, 0);
    CHECK(tc_wait_answer(id, 5000, &f) && f.type == 0x85 && f.payload[0] == RSAGEN_STATE_IDLE, "CANCEL idle");

#if CONFIG_TOIT_CRYPTO_EXTRA
    tc_send(RSAGEN_MSG_KEYGEN, ++id, kg, 4); /* short payload */
    CHECK(tc_wait_answer(id, 5000, &f) && is_error(&f, RSAGEN_ERR_BAD_ARGS), "short KEYGEN is BAD_ARGS");
    rsagen_put_u16le(kg, 1000);
    tc_send(RSAGEN_MSG_KEYGEN, ++id, kg, sizeof kg);
    CHECK(tc_wait_answer(id, 5000, &f) && is_error(&f, RSAGEN_ERR_BAD_ARGS), "bits 1000 is BAD_ARGS");
    rsagen_put_u16le(kg, 2048);
    rsagen_put_u32le(kg + 4, 4);
    tc_send(RSAGEN_MSG_KEYGEN, ++id, kg, sizeof kg);
    CHECK(tc_wait_answer(id, 5000, &f) && is_error(&f, RSAGEN_ERR_BAD_ARGS), "even exponent is BAD_ARGS");

    rsagen_put_u32le(kg + 4, 65537);
    uint16_t kid = ++id;
    tc_send(RSAGEN_MSG_KEYGEN, kid, kg, sizeof kg);
    CHECK(tc_wait_answer(kid, 5000, &f) && f.type == 0x83, "KEYGEN accepted");
    uint32_t job_id = rsagen_get_u32le(f.payload);
    tc_send(RSAGEN_MSG_KEYGEN, kid, kg, sizeof kg); /* retry: same id, same payload */
    CHECK(tc_wait_answer(kid, 5000, &f) && f.type == 0x83 && rsagen_get_u32le(f.payload) == job_id,
          "KEYGEN retry gets the same job id");
    tc_send(RSAGEN_MSG_KEYGEN, ++id, kg, sizeof kg);
    CHECK(tc_wait_answer(id, 5000, &f) && is_error(&f, RSAGEN_ERR_BUSY), "second KEYGEN is BUSY");
    tc_send(RSAGEN_MSG_RELEASE, ++id, NULL, 0);
    CHECK(tc_wait_answer(id, 5000, &f), "RELEASE answered");
    /* The job may already be done on a fast host; only a RUNNING job makes RELEASE busy. */
    CHECK(is_error(&f, RSAGEN_ERR_BUSY) || f.type == 0x87, "RELEASE while running is BUSY");
    bool released = f.type == 0x87;
    if (!released) {
        CHECK(tc_wait_frame(RSAGEN_EVT_DONE, 0, 120000, &f), "DONE event");
        tc_send(RSAGEN_MSG_STATUS, ++id, NULL, 0);
        CHECK(tc_wait_answer(id, 5000, &f) && f.type == 0x84 && f.payload[0] == RSAGEN_STATE_DONE, "STATUS DONE");
        uint32_t priv_len = rsagen_get_u32le(f.payload + RSAGEN_STATUS_OFF_PRIV_LEN);
        uint8_t want_sha[32], got_sha[32];
        memcpy(want_sha, f.payload + RSAGEN_STATUS_OFF_PRIV_SHA256, 32);
        static uint8_t key[4096];
        uint32_t off = 0;
        while (off < priv_len) {
            rd[RSAGEN_READ_OFF_PART] = RSAGEN_PART_PRIV;
            rsagen_put_u16le(rd + RSAGEN_READ_OFF_LENGTH, 1016);
            rsagen_put_u32le(rd + RSAGEN_READ_OFF_OFFSET, off);
            tc_send(RSAGEN_MSG_READ, ++id, rd, sizeof rd);
            if (!tc_wait_answer(id, 5000, &f) || f.type != 0x86) break;
            uint16_t got = rsagen_get_u16le(f.payload + RSAGEN_READ_OFF_LENGTH);
            memcpy(key + off, f.payload + RSAGEN_READ_RESP_HEADER_LEN, got);
            off += got;
        }
        CHECK(off == priv_len, "READ returned the whole private key (%u of %u)", (unsigned)off, (unsigned)priv_len);
        rsagen_sha256(key, priv_len, got_sha);
        CHECK(memcmp(want_sha, got_sha, 32) == 0, "private key SHA-256 matches STATUS");
        rsagen_put_u32le(rd + RSAGEN_READ_OFF_OFFSET, priv_len + 1);
        tc_send(RSAGEN_MSG_READ, ++id, rd, sizeof rd);
        CHECK(tc_wait_answer(id, 5000, &f) && is_error(&f, RSAGEN_ERR_RANGE), "READ past the end is RANGE");
        tc_send(RSAGEN_MSG_RELEASE, ++id, NULL, 0);
        CHECK(tc_wait_answer(id, 5000, &f) && f.type == 0x87 && f.payload[0] == RSAGEN_STATE_DONE &&
                  rsagen_get_u32le(f.payload + 4) == job_id,
              "RELEASE frees the done job");
    }
    /* Cancel a running 4096-bit job through the protocol; the answer comes after the task exited. */
    rsagen_put_u16le(kg, 4096);
    tc_send(RSAGEN_MSG_KEYGEN, ++id, kg, sizeof kg);
    CHECK(tc_wait_answer(id, 5000, &f) && f.type == 0x83, "4096 KEYGEN accepted");
    tc_send(RSAGEN_MSG_CANCEL, ++id, NULL, 0);
    CHECK(tc_wait_answer(id, 60000, &f) && f.type == 0x85 && f.payload[0] == RSAGEN_STATE_RUNNING,
          "CANCEL of a running job");
    CHECK(rsagen_os_posix_heap_in_use() == 0, "cancelled job freed before the answer");
    /* OOM at the protocol level: NO_MEM and nothing left allocated. */
    rsagen_os_posix_fail_alloc_at(2);
    tc_send(RSAGEN_MSG_KEYGEN, ++id, kg, sizeof kg);
    CHECK(tc_wait_answer(id, 5000, &f) && is_error(&f, RSAGEN_ERR_NO_MEM), "KEYGEN out of memory is NO_MEM");
    rsagen_os_posix_fail_alloc_at(0);
    CHECK(rsagen_os_posix_heap_in_use() == 0, "NO_MEM leaves nothing allocated");
    tc_send(RSAGEN_MSG_STATUS, ++id, NULL, 0);
    CHECK(tc_wait_answer(id, 5000, &f) && f.type == 0x84 && f.payload[0] == RSAGEN_STATE_IDLE, "idle after NO_MEM");
#else
    tc_send(RSAGEN_MSG_KEYGEN, ++id, kg, sizeof kg);
    CHECK(tc_wait_answer(id, 5000, &f) && is_error(&f, RSAGEN_ERR_UNSUPPORTED), "KEYGEN unsupported");
#endif

    /* Random bytes: the loop must neither crash nor hang; it still answers afterwards. */
    uint64_t x = 0x1234567887654321ull;
    static uint8_t junk[1 << 16];
    for (int round = 0; round < 8; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* Bias towards sync bytes so candidates (and header checks) get exercised. */
            junk[i] = (x & 0x300) == 0 ? 0xC1 : (x & 0x3000) == 0 ? 0xF5 : (uint8_t)x;
        }
        tc_push(junk, sizeof junk);
    }
    tc_send(RSAGEN_MSG_PING, ++id, ping, 16);
    CHECK(tc_wait_answer(id, 30000, &f) && f.type == 0x82, "answers after 512 KiB of random bytes");

    uint8_t mode = RSAGEN_REBOOT_NORMAL;
    tc_send(RSAGEN_MSG_REBOOT, ++id, &mode, 1);
    CHECK(tc_wait_answer(id, 5000, &f) && f.type == 0x88, "REBOOT answered");
    return NULL;
}

static void console_log_sink(const uint8_t *bytes, size_t len) { rsagen_console_write(bytes, len); }

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) s_out_dir = argv[++i];
        if (strcmp(argv[i], "--big") == 0) s_big = true;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* A generous watchdog: these tests check function, the watchdog tests run the executable. */
    os_posix_config_t cfg = {.wdt_timeout_ms = 5000, .cores = 1, .console_write = console_log_sink};
    rsagen_os_posix_init(&cfg);

#if CONFIG_TOIT_CRYPTO_EXTRA
    test_validate();
    test_der_bounds();
    test_oom();
    generate_and_verify(2048);
    if (s_big) generate_and_verify(4096);
    test_cancel();
#endif

    pthread_t driver;
    pthread_create(&driver, NULL, protocol_driver, NULL);
    app_exit_t why = rsagen_app_run(); /* the main task runs the command loop, as on the chip */
    pthread_join(driver, NULL);
    CHECK(why == APP_EXIT_REBOOT, "command loop returned for the reboot (%d)", (int)why);
    CHECK(tc_text_contains("I ("), "log lines on the console");
    CHECK(rsagen_os_posix_heap_in_use() == 0, "nothing allocated at the end");

    printf("%d passed, %d failed\n", s_pass, s_fail);
    return s_fail == 0 ? 0 : 1;
}
