/*
 * The slot job's shell: creation, task, supervision, lifetime (include/slot_job.h). The work of each
 * kind is in csr_job.c and sign_job.c.
 */
#include <string.h>

#include "keygen_job.h"
#include "slot_job_internal.h"

#ifdef ESP_PLATFORM
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#endif

static const unsigned char PERS[] = "rsagen-slotjob";

static int entropy_cb(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return rsagen_os_entropy(out, len) == 0 ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

static void free_all(slot_job_t *job)
{
    if (job->key != NULL) {
        mbedtls_platform_zeroize(job->key, job->key_cap);
        rsagen_os_free(job->key);
    }
    if (job->out != NULL) {
        mbedtls_platform_zeroize(job->out, job->out_cap);
        rsagen_os_free(job->out);
    }
#if CONFIG_RSAGEN_SLOT_CSR
    rsagen_csr_job_free(job);
#endif
    mbedtls_pk_free(&job->pk); /* mbedtls_rsa_free zeroizes the key's big numbers */
    mbedtls_ctr_drbg_free(&job->drbg);
    mbedtls_platform_zeroize(job, sizeof *job);
    rsagen_os_free(job);
}

slot_job_status_t rsagen_slot_job_create(slot_job_t **out, const slot_job_request_t *req, rsagen_slots_t *slots,
                                         uint32_t id)
{
    *out = NULL;
    rsagen_slot_info_t info;
    if (rsagen_slots_find(slots, req->slot, &info) != SLOTS_OK) return SLOTJOB_E_ARGS;
    if (req->kind == SLOT_JOB_SIGN && req->scheme != SLOT_SIGN_PKCS1_V15 && req->scheme != SLOT_SIGN_PSS) {
        return SLOTJOB_E_ARGS;
    }
#if !CONFIG_RSAGEN_SLOT_CSR
    if (req->kind == SLOT_JOB_CSR) return SLOTJOB_E_ARGS;
#endif
    /* PSS with SHA-256 and a 32-byte salt needs 32 + 32 + 2 bytes of modulus (RFC 8017 9.1.1). */
    if (info.bits < 1024u || info.bits > 4096u) return SLOTJOB_E_ARGS;

    slot_job_t *job = rsagen_os_malloc(sizeof *job);
    if (job == NULL) return SLOTJOB_E_NO_MEM;
    memset(job, 0, sizeof *job);
    job->kind = req->kind;
    job->id = id;
    job->bits = info.bits;
    memcpy(job->slot, info.name, sizeof job->slot);
    job->scheme = req->scheme;
    memcpy(job->digest, req->digest, sizeof job->digest);
    job->slots = slots;
    atomic_init(&job->state, SLOTJOB_STATE_CREATED);
    atomic_init(&job->cancel, 0);
    atomic_init(&job->rng_calls, 0);
    atomic_init(&job->elapsed_ms, 0);
    atomic_init(&job->last_step_ms, 0);
    mbedtls_ctr_drbg_init(&job->drbg);
    mbedtls_pk_init(&job->pk);

    job->key_cap = info.priv_len;
    job->out_cap = req->kind == SLOT_JOB_CSR ? SLOT_JOB_CSR_OUT_MAX : (info.bits + 7u) / 8u;
    job->key = rsagen_os_malloc(job->key_cap);
    job->out = rsagen_os_malloc(job->out_cap);
    if (job->key == NULL || job->out == NULL) {
        free_all(job);
        return SLOTJOB_E_NO_MEM;
    }
    if (mbedtls_ctr_drbg_seed(&job->drbg, entropy_cb, NULL, PERS, sizeof PERS - 1u) != 0) {
        free_all(job);
        return SLOTJOB_E_ENTROPY;
    }
#if CONFIG_RSAGEN_SLOT_CSR
    if (req->kind == SLOT_JOB_CSR) {
        slot_job_status_t st = rsagen_csr_job_setup(job, req);
        if (st != SLOTJOB_OK) {
            free_all(job);
            return st;
        }
    }
#endif
#ifdef ESP_PLATFORM
    job->step_limit_ms = KEYGEN_STEP_LIMIT_MS;
#else
    job->step_limit_ms = rsagen_keygen_host_step_limit_ms;
#endif
    *out = job;
    return SLOTJOB_OK;
}

/* ---- the task -------------------------------------------------------------------------------- */

static void step(slot_job_t *job) { atomic_store(&job->last_step_ms, rsagen_os_ms()); }

int rsagen_slot_job_rng(void *ctx, unsigned char *out, size_t len)
{
    slot_job_t *job = ctx;
    atomic_fetch_add(&job->rng_calls, 1u);
    step(job);
    if (atomic_load(&job->cancel)) return SLOT_JOB_ERR_CANCELLED;
    return mbedtls_ctr_drbg_random(&job->drbg, out, len);
}

static int load_key(slot_job_t *job)
{
    size_t len = 0;
    rsagen_slots_status_t st = rsagen_slots_read_priv(job->slots, job->slot, job->key, job->key_cap, &len);
    if (st != SLOTS_OK) return SLOT_JOB_ERR_SLOT(st);
    step(job);
    int ret = rsagen_pk_parse_key(&job->pk, job->key, len, rsagen_slot_job_rng, job);
    mbedtls_platform_zeroize(job->key, job->key_cap); /* from here on only in the parsed context */
    if (ret != 0) return ret;
    if (mbedtls_pk_get_type(&job->pk) != MBEDTLS_PK_RSA || mbedtls_pk_get_bitlen(&job->pk) != job->bits) {
        return MBEDTLS_ERR_PK_TYPE_MISMATCH;
    }
    return 0;
}

static void run(slot_job_t *job)
{
    int ret = load_key(job);
    if (ret == 0 && atomic_load(&job->cancel)) ret = SLOT_JOB_ERR_CANCELLED;
    if (ret == 0) {
        step(job);
#if CONFIG_RSAGEN_SLOT_CSR
        ret = job->kind == SLOT_JOB_CSR ? rsagen_csr_job_run(job) : rsagen_sign_job_run(job);
#else
        ret = rsagen_sign_job_run(job);
#endif
    }
    /* The key's big numbers go now (mbedtls_pk_free zeroizes them); the context is re-initialised
     * so that destroy can free it again. */
    mbedtls_pk_free(&job->pk);
    mbedtls_pk_init(&job->pk);
    bool cancelled = atomic_load(&job->cancel) && ret != 0; /* Mbed TLS may wrap our cancel code */
    if (ret != 0) {
        mbedtls_platform_zeroize(job->out, job->out_cap);
        job->out_len = 0;
    }
    job->mbedtls_err = cancelled ? SLOT_JOB_ERR_CANCELLED : ret;
    atomic_store(&job->elapsed_ms, rsagen_os_ms() - job->start_ms);
#ifdef ESP_PLATFORM
    job->stack_free_min = (uint32_t)uxTaskGetStackHighWaterMark(NULL);
#endif
    atomic_store(&job->state, ret == 0 ? SLOTJOB_STATE_DONE : cancelled ? SLOTJOB_STATE_CANCELLED : SLOTJOB_STATE_FAILED);
}

static void slot_task(void *arg) { run(arg); }

slot_job_status_t rsagen_slot_job_start(slot_job_t *job)
{
    job->start_ms = rsagen_os_ms();
    atomic_store(&job->last_step_ms, job->start_ms);
    atomic_store(&job->state, SLOTJOB_STATE_RUNNING);
    (void)rsagen_os_wdt_user_add(&job->wdt, "rsagen_slotjob");
    int core = rsagen_os_core_count() > 1 ? 1 : OS_CORE_ANY;
    if (rsagen_os_task_start(&job->task, "slotjob", slot_task, job, SLOT_JOB_TASK_STACK_BYTES,
                             RSAGEN_OS_PRIO_BACKGROUND, core) != 0) {
        rsagen_os_wdt_user_delete(&job->wdt);
        atomic_store(&job->state, SLOTJOB_STATE_CREATED);
        return SLOTJOB_E_NO_MEM;
    }
    job->task_started = true;
    return SLOTJOB_OK;
}

/* ---- control (command loop) ------------------------------------------------------------------ */

void rsagen_slot_job_supervise(slot_job_t *job)
{
    if (!job->wdt.added || !job->task_started || job->task_joined) return;
    uint32_t ticks = rsagen_os_task_cpu_ticks(&job->task);
    bool ran = ticks != job->seen_cpu_ticks;
    job->seen_cpu_ticks = ticks;
    uint32_t since_step = rsagen_os_ms() - (uint32_t)atomic_load(&job->last_step_ms);
    if (ran && since_step <= job->step_limit_ms) {
        rsagen_os_wdt_user_reset(&job->wdt);
        job->wdt_resets++;
    }
}

void rsagen_slot_job_cancel(slot_job_t *job) { atomic_store(&job->cancel, 1); }

static bool join_if_exited(slot_job_t *job, uint32_t timeout_ms)
{
    if (!job->task_started || job->task_joined) return true;
    if (!rsagen_os_task_join(&job->task, timeout_ms)) return false;
    job->task_joined = true;
    rsagen_os_wdt_user_delete(&job->wdt);
    return true;
}

bool rsagen_slot_job_finished(slot_job_t *job)
{
    if (atomic_load(&job->state) == SLOTJOB_STATE_RUNNING) return false;
    if (job->task_started && !job->task_joined && !rsagen_os_task_exited(&job->task)) return false;
    return join_if_exited(job, 0);
}

bool rsagen_slot_job_wait(slot_job_t *job, uint32_t timeout_ms)
{
    if (!job->task_started) return atomic_load(&job->state) != SLOTJOB_STATE_RUNNING;
    return join_if_exited(job, timeout_ms);
}

void rsagen_slot_job_info(const slot_job_t *job, slot_job_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->state = (slot_job_state_t)atomic_load(&job->state);
    out->kind = job->kind;
    out->id = job->id;
    out->bits = job->bits;
    out->elapsed_ms = out->state == SLOTJOB_STATE_RUNNING ? rsagen_os_ms() - job->start_ms
                                                          : atomic_load(&job->elapsed_ms);
    out->rng_calls = atomic_load(&job->rng_calls);
    if (out->state != SLOTJOB_STATE_RUNNING && out->state != SLOTJOB_STATE_CREATED) {
        out->mbedtls_err = job->mbedtls_err;
        out->out_len = job->out_len;
        out->wdt_resets = job->wdt_resets;
        out->stack_free_min = job->stack_free_min;
    }
}

const uint8_t *rsagen_slot_job_output(const slot_job_t *job, size_t *len)
{
    *len = 0;
    if (atomic_load(&job->state) != SLOTJOB_STATE_DONE) return NULL;
    *len = job->out_len;
    return job->out;
}

void rsagen_slot_job_destroy(slot_job_t *job)
{
    if (job == NULL) return;
    rsagen_slot_job_cancel(job);
    (void)join_if_exited(job, UINT32_MAX); /* the task's last access comes before anything is freed */
    free_all(job);
}
