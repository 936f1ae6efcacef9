/*
 * RSA key generation job: see include/keygen_job.h for the contract and docs/firmware.md for the
 * reasoning (watchdog, scheduling, lifetime).
 */
#include "keygen_job.h"

#include <stdatomic.h>
#include <string.h>

#include "mbedtls/ctr_drbg.h"
#include "rsagen_mbedtls_compat.h"
#include "rsagen_os.h"

#ifdef ESP_PLATFORM
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#endif

/* A fixed personalization string: with the host's fixed test seed, the job and a raw
 * mbedtls_rsa_gen_key benchmark then draw the identical DRBG stream (bench/keygen.mjs). */
static const unsigned char KEYGEN_PERS[] = "rsagen-keygen";

struct keygen_job {
    /* Request. */
    uint32_t id;
    unsigned bits;
    uint32_t exponent;

    /* Shared between the command loop and the task. */
    atomic_int state;
    atomic_int cancel;
    atomic_uint rng_calls;
    atomic_uint elapsed_ms;
    atomic_uint last_rng_ms; /* os_ms() of the latest RNG call (or of the start) */

    /* Written by the task only, read by the loop after the task exited. */
    int32_t mbedtls_err;
    size_t priv_len;
    size_t pub_len;
    uint32_t max_rng_gap_us;
    uint32_t stack_free_min;

    /* Task-private timing state. */
    uint32_t start_ms;
    uint64_t last_rng_us;

    /* Supervision (command loop only). */
    os_wdt_user_t wdt;
    uint32_t seen_cpu_ticks;
    uint32_t wdt_resets;
    uint32_t step_limit_ms;

    /* Everything generation writes, allocated by rsagen_keygen_job_create. */
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context pk;
    uint8_t *priv;
    size_t priv_cap;
    uint8_t *pub;
    size_t pub_cap;

    /* KEEP: where the key goes instead of being read back (rsagen_keygen_job_set_sink). */
    keygen_sink_fn sink;
    void *sink_ctx;

    os_task_t task;
    bool task_started;
    bool task_joined;
};

/* ---- sizes ----------------------------------------------------------------------------------- */

/* DER tag + length octets for a content of n bytes (X.690 8.1.3). */
static size_t der_tl(size_t n)
{
    return 1u + (n < 0x80u ? 1u : n < 0x100u ? 2u : n < 0x10000u ? 3u : 4u);
}

/* An INTEGER of at most `bytes` magnitude bytes, with the leading 0x00 a positive value may need. */
static size_t der_int(size_t bytes) { return der_tl(bytes + 1u) + bytes + 1u; }

/*
 * RSAPrivateKey (RFC 8017 A.1.2): SEQUENCE { version 0, n, e, d, p, q, dP, dQ, qInv }.
 * n and d have at most bits/8 bytes, p, q, dP, dQ, qInv at most bits/16 (mbedtls makes p and q
 * exactly bits/2 bits; the others are reduced modulo p or q), e at most 4 (an int).
 */
size_t rsagen_keygen_priv_der_max(unsigned bits)
{
    size_t nb = (bits + 7u) / 8u;
    size_t hb = (bits / 2u + 7u) / 8u;
    size_t body = der_int(1) + 2u * der_int(nb) + der_int(4) + 5u * der_int(hb);
    return der_tl(body) + body;
}

/*
 * SubjectPublicKeyInfo (RFC 5280 4.1, RFC 8017 A.1.1): SEQUENCE { SEQUENCE { OID rsaEncryption,
 * NULL }, BIT STRING { 0 unused bits, RSAPublicKey SEQUENCE { n, e } } }.
 */
size_t rsagen_keygen_pub_der_max(unsigned bits)
{
    size_t nb = (bits + 7u) / 8u;
    size_t rsapub = der_int(nb) + der_int(4);
    size_t rsapub_seq = der_tl(rsapub) + rsapub;
    size_t bitstr = der_tl(rsapub_seq + 1u) + 1u + rsapub_seq;
    size_t algid = 2u + 11u + 2u; /* SEQUENCE { 06 09 2A864886F70D010101, 05 00 } */
    size_t body = algid + bitstr;
    return der_tl(body) + body;
}

keygen_status_t rsagen_keygen_validate(unsigned bits, uint32_t exponent)
{
    if (bits < KEYGEN_MIN_BITS || bits > KEYGEN_MAX_BITS || bits % 8u != 0u) return KEYGEN_E_BITS;
    if (exponent < 3u || exponent % 2u == 0u || exponent > 0x7FFFFFFFu) return KEYGEN_E_EXPONENT;
    return KEYGEN_OK;
}

/* ---- creation -------------------------------------------------------------------------------- */

static int entropy_cb(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return rsagen_os_entropy(out, len) == 0 ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

static void free_all(keygen_job_t *job)
{
    if (job->priv != NULL) {
        mbedtls_platform_zeroize(job->priv, job->priv_cap);
        rsagen_os_free(job->priv);
    }
    if (job->pub != NULL) {
        mbedtls_platform_zeroize(job->pub, job->pub_cap);
        rsagen_os_free(job->pub);
    }
    mbedtls_pk_free(&job->pk); /* mbedtls_rsa_free zeroizes the key's big numbers */
    mbedtls_ctr_drbg_free(&job->drbg); /* zeroizes the DRBG state */
    mbedtls_platform_zeroize(job, sizeof *job);
    rsagen_os_free(job);
}

keygen_status_t rsagen_keygen_job_create(keygen_job_t **out, unsigned bits, uint32_t exponent, uint32_t id)
{
    *out = NULL;
    keygen_status_t st = rsagen_keygen_validate(bits, exponent);
    if (st != KEYGEN_OK) return st;

    keygen_job_t *job = rsagen_os_malloc(sizeof *job);
    if (job == NULL) return KEYGEN_E_NO_MEM;
    memset(job, 0, sizeof *job);
    job->id = id;
    job->bits = bits;
    job->exponent = exponent;
    atomic_init(&job->state, KEYGEN_STATE_CREATED);
    atomic_init(&job->cancel, 0);
    atomic_init(&job->rng_calls, 0);
    atomic_init(&job->elapsed_ms, 0);
    mbedtls_ctr_drbg_init(&job->drbg);
    mbedtls_pk_init(&job->pk);

    job->priv_cap = rsagen_keygen_priv_der_max(bits);
    job->pub_cap = rsagen_keygen_pub_der_max(bits);
    job->priv = rsagen_os_malloc(job->priv_cap);
    job->pub = rsagen_os_malloc(job->pub_cap);
    if (job->priv == NULL || job->pub == NULL) {
        free_all(job);
        return KEYGEN_E_NO_MEM;
    }
    /* Allocates the RSA context here, in the loop, so the task does not have to. */
    if (mbedtls_pk_setup(&job->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0) {
        free_all(job);
        return KEYGEN_E_NO_MEM;
    }
    if (mbedtls_ctr_drbg_seed(&job->drbg, entropy_cb, NULL, KEYGEN_PERS, sizeof KEYGEN_PERS - 1u) != 0) {
        free_all(job);
        return KEYGEN_E_ENTROPY;
    }
#ifdef ESP_PLATFORM
    job->step_limit_ms = KEYGEN_STEP_LIMIT_MS;
#else
    job->step_limit_ms = rsagen_keygen_host_step_limit_ms;
#endif
    *out = job;
    return KEYGEN_OK;
}

/* ---- generation (task context, or the loop for the inline negative control) ----------------- */

static uint32_t elapsed_since(uint32_t start) { return rsagen_os_ms() - start; }

/*
 * The RNG callback: called hundreds to thousands of times per key between big-number operations,
 * in the generating task's context with no Mbed TLS lock held. It is the only hook Mbed TLS offers
 * into a running generation, so it cancels, counts and records progress. It does not feed the
 * watchdog and does not yield: the steps between calls can outlast any watchdog timeout, so the
 * design must not depend on their length (keygen_job.h, docs/firmware.md).
 */
static int keygen_rng(void *ctx, unsigned char *out, size_t len)
{
    keygen_job_t *job = ctx;
    uint64_t now_us = rsagen_os_us();
    uint64_t gap = now_us - job->last_rng_us;
    if (gap > job->max_rng_gap_us) job->max_rng_gap_us = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;
    job->last_rng_us = now_us;
    atomic_fetch_add(&job->rng_calls, 1u);
    atomic_store(&job->last_rng_ms, (unsigned)(now_us / 1000u));
    atomic_store(&job->elapsed_ms, elapsed_since(job->start_ms));
    if (atomic_load(&job->cancel)) return KEYGEN_ERR_CANCELLED;
    return mbedtls_ctr_drbg_random(&job->drbg, out, len);
}

/* Writes one DER object at the end of buf (Mbed TLS writes backwards), moves it to the start and
 * zeroizes the now-unused tail, which held a copy of its leading bytes. Returns length or < 0. */
static int write_der_front(keygen_job_t *job, uint8_t *buf, size_t cap, bool private_part)
{
    int n = private_part ? mbedtls_pk_write_key_der(&job->pk, buf, cap)
                         : mbedtls_pk_write_pubkey_der(&job->pk, buf, cap);
    if (n <= 0) return n < 0 ? n : -1;
    memmove(buf, buf + cap - (size_t)n, (size_t)n);
    mbedtls_platform_zeroize(buf + n, cap - (size_t)n);
    return n;
}

#ifndef ESP_PLATFORM
uint32_t rsagen_keygen_host_step_limit_ms = KEYGEN_STEP_LIMIT_MS;
void (*rsagen_keygen_host_after_gen)(void);
#endif

static void keygen_generate(keygen_job_t *job)
{
    int ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(job->pk), keygen_rng, job, job->bits, (int)job->exponent);
#ifndef ESP_PLATFORM
    if (ret == 0 && rsagen_keygen_host_after_gen != NULL) rsagen_keygen_host_after_gen();
#endif
    if (ret == 0) {
        int n = write_der_front(job, job->priv, job->priv_cap, true);
        int m = n > 0 ? write_der_front(job, job->pub, job->pub_cap, false) : n;
        if (n > 0 && m > 0) {
            job->priv_len = (size_t)n;
            job->pub_len = (size_t)m;
        } else {
            ret = n <= 0 ? n : m;
        }
    }
    if (ret == 0 && job->sink != NULL) {
        /* The private key leaves this buffer only for the sink (a key slot), never for READ. */
        ret = job->sink(job->sink_ctx, job->bits, job->priv, job->priv_len, job->pub, job->pub_len);
        mbedtls_platform_zeroize(job->priv, job->priv_cap);
        job->priv_len = 0;
    }
    /* The key now lives in the DER buffers only: wipe the big numbers (mbedtls_rsa_free zeroizes
     * and frees the limbs; the context itself stays until rsagen_keygen_job_destroy). */
    mbedtls_rsa_free(mbedtls_pk_rsa(job->pk));
    if (ret != 0) {
        mbedtls_platform_zeroize(job->priv, job->priv_cap);
        mbedtls_platform_zeroize(job->pub, job->pub_cap);
        job->priv_len = 0;
        job->pub_len = 0;
    }
    job->mbedtls_err = ret;
    atomic_store(&job->elapsed_ms, elapsed_since(job->start_ms));
#ifdef ESP_PLATFORM
    job->stack_free_min = (uint32_t)uxTaskGetStackHighWaterMark(NULL); /* bytes on ESP-IDF */
#endif
    keygen_state_t final = ret == 0 ? KEYGEN_STATE_DONE
                           : ret == KEYGEN_ERR_CANCELLED ? KEYGEN_STATE_CANCELLED
                                                         : KEYGEN_STATE_FAILED;
    atomic_store(&job->state, final);
}

static void keygen_task(void *arg) { keygen_generate(arg); }

void rsagen_keygen_job_set_sink(keygen_job_t *job, keygen_sink_fn fn, void *ctx)
{
    job->sink = fn;
    job->sink_ctx = ctx;
}

static void mark_start(keygen_job_t *job)
{
    job->start_ms = rsagen_os_ms();
    job->last_rng_us = rsagen_os_us();
    atomic_store(&job->last_rng_ms, job->start_ms);
    atomic_store(&job->state, KEYGEN_STATE_RUNNING);
}

keygen_status_t rsagen_keygen_job_start(keygen_job_t *job)
{
    mark_start(job);
    /* The entry exists from before the task starts until after it was joined; the supervisor
     * resets it. A watchdog without room (or none at all) leaves it unadded: generation still runs. */
    (void)rsagen_os_wdt_user_add(&job->wdt, "rsagen_keygen");
    /* Dual-core chips: pin to core 1 so core 0 (the command loop and the console driver) stays free
     * for requests; single-core: the only core. */
    int core = rsagen_os_core_count() > 1 ? 1 : OS_CORE_ANY;
    if (rsagen_os_task_start(&job->task, "keygen", keygen_task, job, KEYGEN_TASK_STACK_BYTES,
                             RSAGEN_OS_PRIO_BACKGROUND, core) != 0) {
        rsagen_os_wdt_user_delete(&job->wdt);
        atomic_store(&job->state, KEYGEN_STATE_CREATED);
        return KEYGEN_E_NO_MEM;
    }
    job->task_started = true;
    return KEYGEN_OK;
}

void rsagen_keygen_job_run_inline(keygen_job_t *job)
{
    /* The original bug: the caller (the command loop, above the idle priority) computes the whole
     * key without blocking, so IDLE starves and the watchdog fires. */
    mark_start(job);
    keygen_generate(job);
}

void rsagen_keygen_job_supervise(keygen_job_t *job)
{
    if (!job->wdt.added || !job->task_started || job->task_joined) return;
    uint32_t ticks = rsagen_os_task_cpu_ticks(&job->task);
    bool ran = ticks != job->seen_cpu_ticks;
    job->seen_cpu_ticks = ticks;
    uint32_t since_rng = rsagen_os_ms() - (uint32_t)atomic_load(&job->last_rng_ms);
    if (ran && since_rng <= job->step_limit_ms) {
        rsagen_os_wdt_user_reset(&job->wdt);
        job->wdt_resets++;
    }
}

/* ---- control --------------------------------------------------------------------------------- */

void rsagen_keygen_job_cancel(keygen_job_t *job) { atomic_store(&job->cancel, 1); }

static bool join_if_exited(keygen_job_t *job, uint32_t timeout_ms)
{
    if (!job->task_started || job->task_joined) return true;
    if (!rsagen_os_task_join(&job->task, timeout_ms)) return false;
    job->task_joined = true;
    rsagen_os_wdt_user_delete(&job->wdt);
    return true;
}

bool rsagen_keygen_job_finished(keygen_job_t *job)
{
    int st = atomic_load(&job->state);
    if (st == KEYGEN_STATE_RUNNING) return false;
    if (job->task_started && !job->task_joined && !rsagen_os_task_exited(&job->task)) return false;
    return join_if_exited(job, 0);
}

bool rsagen_keygen_job_wait(keygen_job_t *job, uint32_t timeout_ms)
{
    if (!job->task_started) return atomic_load(&job->state) != KEYGEN_STATE_RUNNING;
    return join_if_exited(job, timeout_ms);
}

void rsagen_keygen_job_info(const keygen_job_t *job, keygen_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->state = (keygen_state_t)atomic_load(&job->state);
    out->id = job->id;
    out->bits = job->bits;
    out->exponent = job->exponent;
    /* Live while running (the task updates it only at RNG calls, which long steps lack). */
    out->elapsed_ms = out->state == KEYGEN_STATE_RUNNING ? rsagen_os_ms() - job->start_ms
                                                         : atomic_load(&job->elapsed_ms);
    out->rng_calls = atomic_load(&job->rng_calls);
    /* Task-written fields are read only after the task published its final state. */
    if (out->state != KEYGEN_STATE_RUNNING && out->state != KEYGEN_STATE_CREATED) {
        out->mbedtls_err = job->mbedtls_err;
        out->priv_len = job->priv_len;
        out->pub_len = job->pub_len;
        out->wdt_resets = job->wdt_resets;
        out->max_rng_gap_us = job->max_rng_gap_us;
        out->stack_free_min = job->stack_free_min;
    }
}

const uint8_t *rsagen_keygen_job_part(const keygen_job_t *job, keygen_part_t part, size_t *len)
{
    *len = 0;
    if (atomic_load(&job->state) != KEYGEN_STATE_DONE) return NULL;
    if (part == KEYGEN_PART_PRIVATE && job->sink != NULL) return NULL; /* kept on the board */
    *len = part == KEYGEN_PART_PRIVATE ? job->priv_len : job->pub_len;
    return part == KEYGEN_PART_PRIVATE ? job->priv : job->pub;
}

void rsagen_keygen_job_destroy(keygen_job_t *job)
{
    if (job == NULL) return;
    rsagen_keygen_job_cancel(job);
    /* Forever: the task checks the flag at its next RNG call, so this is one call gap at most.
     * Freeing before the task exited is the use-after-free this design exists to rule out. */
    (void)join_if_exited(job, UINT32_MAX);
    free_all(job);
}
