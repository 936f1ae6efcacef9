/*
 * The RSA key generation job (docs/firmware.md, "Keygen job").
 *
 * The command loop validates a request and creates a job: every buffer the generation will write is
 * allocated here, in the caller's context, at worst-case DER size for the requested bits. Starting
 * the job creates a FreeRTOS task (priority KEYGEN_TASK_PRIO, below the command loop) that:
 *   subscribes to the task watchdog -> mbedtls_rsa_gen_key with an RNG callback that feeds the
 *   watchdog, checks the cancel flag, counts calls and blocks one tick every yield interval so IDLE
 *   runs -> writes PKCS#1 and SPKI DER into the job's buffers -> unsubscribes -> exits.
 * Our task code calls no allocator (the big-number limbs inside mbedtls_rsa_gen_key are allocated by
 * Mbed TLS itself, which has no hook for that; their failure ends the job as FAILED).
 *
 * Lifetime: only rsagen_keygen_job_destroy() frees a job, and it first cancels and joins the task, so no path
 * (done, cancel, host timeout, busy, reboot) can free memory the task still uses. Key material is
 * zeroized with mbedtls_platform_zeroize before it is freed. Single owner: all functions are called
 * from the command loop only.
 */
#ifndef KEYGEN_JOB_H
#define KEYGEN_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KEYGEN_MIN_BITS 1024u
#define KEYGEN_MAX_BITS 4096u

/*
 * Stack of the keygen task in bytes (ESP-IDF takes bytes). mbedtls_rsa_gen_key keeps its big
 * numbers on the heap; the stack holds mbedtls_mpi headers (12 bytes each on 32-bit) down the
 * gen_prime -> Miller-Rabin -> exp_mod chain (2.28's software exp_mod keeps a 64-entry mpi window
 * table there: ~800 bytes), the ESP hardware-MPI driver's frames, our RNG callback and
 * esp_task_wdt_reset/vTaskDelay. 8 KiB matches what ESP-IDF's own RSA keygen test runs in (the Unity
 * task) and leaves margin; the task records its stack high-water mark so the margin can be checked.
 */
#define KEYGEN_TASK_STACK_BYTES 8192u

/*
 * Priority: IDLE (0) + 1. Below the command loop (KEYGEN_CMD_LOOP_PRIO), so a request arriving
 * on the console preempts generation immediately (ping latency is one context switch, not a slice of
 * the key), and above IDLE so IDLE runs exactly when the task blocks at its yield points.
 */
#define KEYGEN_TASK_PRIO 1u
#define KEYGEN_CMD_LOOP_PRIO 3u

/* Returned by the RNG callback to abort generation on cancel. A high-level code (unused by
 * Mbed TLS 2.28 and 3.x) so mbedtls_rsa_gen_key returns it unchanged. Never -0x000E
 * (MBEDTLS_ERR_MPI_NOT_ACCEPTABLE): Miller-Rabin reads that as "composite" and carries on. */
#define KEYGEN_ERR_CANCELLED (-0x5A00)

typedef enum {
    KEYGEN_OK = 0,
    KEYGEN_E_BITS,     /* bits outside 1024..4096 or not a multiple of 8 */
    KEYGEN_E_EXPONENT, /* exponent even, < 3, or > INT32_MAX (mbedtls takes an int) */
    KEYGEN_E_NO_MEM,   /* a buffer, the RSA context or the task could not be allocated */
    KEYGEN_E_ENTROPY,  /* the DRBG could not be seeded from the entropy source */
} keygen_status_t;

typedef enum {
    KEYGEN_STATE_CREATED = 0,
    KEYGEN_STATE_RUNNING,
    KEYGEN_STATE_DONE,
    KEYGEN_STATE_FAILED,
    KEYGEN_STATE_CANCELLED,
} keygen_state_t;

typedef enum { KEYGEN_PART_PRIVATE = 0, KEYGEN_PART_PUBLIC = 1 } keygen_part_t;

typedef struct {
    keygen_state_t state;
    uint32_t id;
    unsigned bits;
    uint32_t exponent;
    uint32_t elapsed_ms; /* since generation started; frozen at the end */
    uint32_t rng_calls;
    int32_t mbedtls_err; /* 0 unless FAILED (CANCELLED: KEYGEN_ERR_CANCELLED) */
    size_t priv_len;     /* 0 unless DONE */
    size_t pub_len;
    uint32_t yields;            /* one-tick blocks taken */
    uint32_t max_rng_gap_us;    /* longest time between two RNG calls (the feed granularity) */
    uint32_t stack_free_min;    /* ESP-IDF: stack high-water mark in bytes at the end; host: 0 */
} keygen_info_t;

typedef struct keygen_job keygen_job_t;

/* Worst-case DER sizes for a key of `bits` (see keygen_job.c for the arithmetic). */
size_t rsagen_keygen_priv_der_max(unsigned bits);
size_t rsagen_keygen_pub_der_max(unsigned bits);

keygen_status_t rsagen_keygen_validate(unsigned bits, uint32_t exponent);

/* Validates, allocates everything and seeds the DRBG. On any error nothing stays allocated. */
keygen_status_t rsagen_keygen_job_create(keygen_job_t **out, unsigned bits, uint32_t exponent, uint32_t id);

/* Starts the task. On failure (KEYGEN_E_NO_MEM) the job stays CREATED and must be destroyed. */
keygen_status_t rsagen_keygen_job_start(keygen_job_t *job);

/* Negative control (CONFIG_RSAGEN_INLINE_KEYGEN): the same generation, run in the caller's context
 * without yielding: exactly the original bug. Returns when generation ended. */
void rsagen_keygen_job_run_inline(keygen_job_t *job);

/* Asks the generation to stop at its next RNG call. Non-blocking. */
void rsagen_keygen_job_cancel(keygen_job_t *job);

/* True once generation has ended and the task (if any) has exited and been joined. Non-blocking. */
bool rsagen_keygen_job_finished(keygen_job_t *job);

/* Waits up to timeout_ms for the end of generation; true if it ended. */
bool rsagen_keygen_job_wait(keygen_job_t *job, uint32_t timeout_ms);

void rsagen_keygen_job_info(const keygen_job_t *job, keygen_info_t *out);

/* The DER of a part, at the start of its buffer; NULL unless the job is DONE. */
const uint8_t *rsagen_keygen_job_part(const keygen_job_t *job, keygen_part_t part, size_t *len);

/* Cancels, waits for the task to exit, zeroizes all key material and frees everything. NULL is ok. */
void rsagen_keygen_job_destroy(keygen_job_t *job);

#ifdef __cplusplus
}
#endif

#endif /* KEYGEN_JOB_H */
