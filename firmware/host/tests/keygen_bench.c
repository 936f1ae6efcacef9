/*
 * Benchmark helper (bench/keygen.mjs runs it; not a test): the keygen job against a raw
 * mbedtls_rsa_gen_key on the identical DRBG stream, key by key.
 *
 *   rsagen-keygen-bench <bits> <count> [--wdt-ms N] [--cores 1|2]
 *
 * For key i both runs reseed the deterministic entropy stream with "bench-<bits>-<i>" and seed a
 * CTR-DRBG with the job's personalization, so they must produce the byte-identical key (checked:
 * "same"); the time difference is then the job's overhead alone (task, supervision).
 * The order alternates per key. Prints one JSON object per key and a summary line.
 * The raw run happens on a plain thread that is not an emulated task, so the emulated watchdog
 * neither judges it nor is starved by it; the main task waits blocked, as the command loop would.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keygen_job.h"
#include "mbedtls/ctr_drbg.h"
#include "os_posix.h"
#include "rsagen_mbedtls_compat.h"
#include "rsagen_os.h"

typedef struct {
    unsigned bits;
    uint8_t der[4096];
    size_t der_len;
    double ms;
    int ret;
} raw_run_t;

static int entropy_cb(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return rsagen_os_entropy(out, len) == 0 ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

static void *raw_thread(void *p)
{
    raw_run_t *r = p;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context pk;
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&pk);
    static const unsigned char pers[] = "rsagen-keygen"; /* the job's personalization */
    uint64_t t0 = rsagen_os_us();
    r->ret = mbedtls_ctr_drbg_seed(&drbg, entropy_cb, NULL, pers, sizeof pers - 1);
    if (r->ret == 0) r->ret = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
    if (r->ret == 0) {
        r->ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), mbedtls_ctr_drbg_random, &drbg, r->bits, 65537);
    }
    r->ms = (double)(rsagen_os_us() - t0) / 1000.0;
    if (r->ret == 0) {
        int n = mbedtls_pk_write_key_der(&pk, r->der, sizeof r->der);
        if (n > 0) {
            memmove(r->der, r->der + sizeof r->der - (size_t)n, (size_t)n);
            r->der_len = (size_t)n;
        } else {
            r->ret = n;
        }
    }
    mbedtls_pk_free(&pk);
    mbedtls_ctr_drbg_free(&drbg);
    return NULL;
}

static void run_raw(raw_run_t *r)
{
    pthread_t th;
    rsagen_os_posix_block_begin();
    pthread_create(&th, NULL, raw_thread, r);
    pthread_join(th, NULL);
    rsagen_os_posix_block_end();
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rsagen-keygen-bench <bits> <count> [--wdt-ms N] [--cores 1|2]\n");
        return 2;
    }
    unsigned bits = (unsigned)strtoul(argv[1], NULL, 10);
    int count = atoi(argv[2]);
    uint32_t wdt_ms = 5000;
    int cores = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--wdt-ms") == 0) wdt_ms = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--cores") == 0) cores = atoi(argv[i + 1]);
    }
    os_posix_config_t cfg = {.wdt_timeout_ms = wdt_ms, .cores = cores, .fixed_seed = "bench"};
    setvbuf(stdout, NULL, _IOLBF, 0);
    rsagen_os_posix_init(&cfg);

    double raw_total = 0, job_total = 0;
    uint64_t max_gap_us = 0;
    int mismatches = 0;
    static raw_run_t raw;
    for (int i = 0; i < count; i++) {
        char seed[64];
        snprintf(seed, sizeof seed, "bench-%u-%d", bits, i);
        keygen_job_t *job = NULL;
        keygen_info_t info;
        double job_ms = 0;
        for (int pass = 0; pass < 2; pass++) {
            bool do_raw = (pass == 0) == (i % 2 == 0);
            rsagen_os_posix_reseed(seed);
            if (do_raw) {
                memset(&raw, 0, sizeof raw);
                raw.bits = bits;
                run_raw(&raw);
            } else {
                os_posix_wdt_stats_t st;
                rsagen_os_posix_wdt_stats_take(&st);
                uint64_t t0 = rsagen_os_us();
                if (rsagen_keygen_job_create(&job, bits, 65537, (uint32_t)i + 1) != KEYGEN_OK ||
                    rsagen_keygen_job_start(job) != KEYGEN_OK) {
                    fprintf(stderr, "job could not start\n");
                    return 1;
                }
                /* Supervise as the command loop does (50 turns per watchdog period, at most every
                 * 10 ms), or the job's watchdog entry fires. */
                uint32_t turn = wdt_ms / 50u < 1u ? 1u : wdt_ms / 50u > 10u ? 10u : wdt_ms / 50u;
                while (!rsagen_keygen_job_wait(job, turn)) rsagen_keygen_job_supervise(job);
                job_ms = (double)(rsagen_os_us() - t0) / 1000.0;
                rsagen_os_posix_wdt_stats_take(&st);
                if (st.max_gap_us > max_gap_us) max_gap_us = st.max_gap_us;
                rsagen_keygen_job_info(job, &info);
            }
        }
        size_t len = 0;
        const uint8_t *der = rsagen_keygen_job_part(job, KEYGEN_PART_PRIVATE, &len);
        bool same = raw.ret == 0 && der != NULL && len == raw.der_len && memcmp(der, raw.der, len) == 0;
        if (!same) mismatches++;
        raw_total += raw.ms;
        job_total += job_ms;
        printf("{\"bits\":%u,\"i\":%d,\"raw_ms\":%.3f,\"job_ms\":%.3f,\"same\":%s,\"rng_calls\":%u,"
               "\"wdt_resets\":%u,\"max_rng_gap_us\":%u}\n",
               bits, i, raw.ms, job_ms, same ? "true" : "false", (unsigned)info.rng_calls,
               (unsigned)info.wdt_resets, (unsigned)info.max_rng_gap_us);
        rsagen_keygen_job_destroy(job);
    }
    printf("{\"summary\":true,\"bits\":%u,\"count\":%d,\"wdt_ms\":%u,\"raw_total_ms\":%.3f,\"job_total_ms\":%.3f,"
           "\"ratio\":%.4f,\"max_feed_gap_us\":%llu,\"max_feed_gap_fraction\":%.4f,\"mismatches\":%d}\n",
           bits, count, (unsigned)wdt_ms, raw_total, job_total, raw_total > 0 ? job_total / raw_total : 0,
           (unsigned long long)max_gap_us, wdt_ms ? (double)max_gap_us / (wdt_ms * 1000.0) : 0, mismatches);
    return mismatches == 0 ? 0 : 1;
}
