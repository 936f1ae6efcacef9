/* Shared by the slot job's shell (slot_job.c) and its two kinds (csr_job.c, sign_job.c). */
#ifndef SLOT_JOB_INTERNAL_H
#define SLOT_JOB_INTERNAL_H

#include <stdatomic.h>

#include "mbedtls/ctr_drbg.h"
#include "rsagen_config.h"
#include "rsagen_mbedtls_compat.h"
#include "rsagen_os.h"
#include "slot_job.h"

#if CONFIG_RSAGEN_SLOT_CSR
#include "mbedtls/x509_csr.h"
#endif

struct slot_job {
    /* Request. */
    slot_job_kind_t kind;
    uint32_t id;
    unsigned bits;
    char slot[RSAGEN_SLOT_NAME_MAX + 1];
    slot_sign_scheme_t scheme;
    uint8_t digest[32];

    /* Shared between the command loop and the task. */
    atomic_int state;
    atomic_int cancel;
    atomic_uint rng_calls;
    atomic_uint elapsed_ms;
    atomic_uint last_step_ms; /* os_ms() when the current step began (or the latest RNG call) */

    /* Written by the task only, read by the loop after the task exited. */
    int32_t mbedtls_err;
    size_t out_len;
    uint32_t stack_free_min;
    uint32_t start_ms;

    /* Supervision (command loop only). */
    os_wdt_user_t wdt;
    uint32_t seen_cpu_ticks;
    uint32_t wdt_resets;
    uint32_t step_limit_ms;

    /* Everything the task touches, allocated by rsagen_slot_job_create. */
    rsagen_slots_t *slots;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context pk;
    uint8_t *key; /* the slot's private key DER, only between the flash read and the parse */
    size_t key_cap;
    uint8_t *out;
    size_t out_cap;
#if CONFIG_RSAGEN_SLOT_CSR
    mbedtls_x509write_csr csr;
    bool csr_ready;
#endif

    os_task_t task;
    bool task_started;
    bool task_joined;
};

/* The RNG callback of every Mbed TLS call in the task: counts, records progress, cancels. */
int rsagen_slot_job_rng(void *ctx, unsigned char *out, size_t len);

#if CONFIG_RSAGEN_SLOT_CSR
/* csr_job.c: sets up subject and SAN extension (loop context); writes the CSR (task); frees. */
slot_job_status_t rsagen_csr_job_setup(slot_job_t *job, const slot_job_request_t *req);
int rsagen_csr_job_run(slot_job_t *job);
void rsagen_csr_job_free(slot_job_t *job);
#endif

/* sign_job.c: signs job->digest with job->pk into job->out. */
int rsagen_sign_job_run(slot_job_t *job);

#endif /* SLOT_JOB_INTERNAL_H */
