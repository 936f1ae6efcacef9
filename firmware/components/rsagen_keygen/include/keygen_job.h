/*
 * The RSA key generation job (docs/firmware.md, "Keygen job").
 *
 * The command loop validates a request and creates a job: every buffer the generation will write is
 * allocated here, in the caller's context, at worst-case DER size for the requested bits. Starting
 * the job adds a task-watchdog user entry "rsagen_keygen" and creates a FreeRTOS task at the idle
 * priority (a background task, rsagen_os.h) that runs mbedtls_rsa_gen_key with an RNG callback that
 * checks the cancel flag and counts calls, writes PKCS#1 and SPKI DER into the job's buffers, and
 * exits. Watchdog (docs/firmware.md, "Watchdog"): the task shares its core with IDLE by time
 * slicing, so no step of Mbed TLS, however long and callback-free, can keep IDLE from resetting its
 * entry; the job's own entry is reset by the command loop (rsagen_keygen_job_supervise) only while
 * the tick interrupt keeps finding the task on the CPU and an RNG call came within the step limit.
 * A task that stops running (blocked, starved) or a generation stuck past the step limit stops the
 * resets, and the watchdog fires naming rsagen_keygen.
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
 * The command loop's priority. The keygen task runs at RSAGEN_OS_PRIO_BACKGROUND (0, the idle
 * priority), so a request arriving on the console preempts generation immediately (ping latency is
 * one context switch, not a slice of the key).
 */
#define KEYGEN_CMD_LOOP_PRIO 3u

/*
 * Step limit: the longest time generation may go without an RNG call before the job's watchdog
 * entry is no longer reset. The longest callback-free steps of mbedtls_rsa_gen_key (modular
 * inverses, a Miller-Rabin exponentiation without the RSA accelerator) take seconds at 4096 bits on
 * a chip (docs/firmware.md has the measured figures), so the default leaves a wide margin; it only
 * bounds a generation that computes forever.
 */
#ifdef CONFIG_RSAGEN_KEYGEN_STEP_LIMIT_S
#define KEYGEN_STEP_LIMIT_MS (CONFIG_RSAGEN_KEYGEN_STEP_LIMIT_S * 1000u)
#else
#define KEYGEN_STEP_LIMIT_MS 60000u
#endif

/*
 * A sink takes the key when generation succeeded (KEEP: the command loop's sink stores it in a key
 * slot). It runs in the job's task, after the DER encodings were written, and returns 0 or a
 * negative code that fails the job (it becomes mbedtls_err). With a sink the private key is never
 * readable: its buffer is zeroized right after the sink returns, whatever it returned.
 */
typedef int (*keygen_sink_fn)(void *ctx, unsigned bits, const uint8_t *priv, size_t priv_len, const uint8_t *pub,
                              size_t pub_len);

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
    uint32_t wdt_resets;        /* resets of the job's watchdog entry by the supervisor */
    uint32_t max_rng_gap_us;    /* longest time between two RNG calls (the longest step seen) */
    uint32_t stack_free_min;    /* ESP-IDF: stack high-water mark in bytes at the end; host: 0 */
} keygen_info_t;

typedef struct keygen_job keygen_job_t;

/* Worst-case DER sizes for a key of `bits` (see keygen_job.c for the arithmetic). */
size_t rsagen_keygen_priv_der_max(unsigned bits);
size_t rsagen_keygen_pub_der_max(unsigned bits);

keygen_status_t rsagen_keygen_validate(unsigned bits, uint32_t exponent);

/* Validates, allocates everything and seeds the DRBG. On any error nothing stays allocated. */
keygen_status_t rsagen_keygen_job_create(keygen_job_t **out, unsigned bits, uint32_t exponent, uint32_t id);

/* Sets the sink (before start). */
void rsagen_keygen_job_set_sink(keygen_job_t *job, keygen_sink_fn fn, void *ctx);

/* Starts the task. On failure (KEYGEN_E_NO_MEM) the job stays CREATED and must be destroyed. */
keygen_status_t rsagen_keygen_job_start(keygen_job_t *job);

/* Negative control (CONFIG_RSAGEN_INLINE_KEYGEN): the same generation, run in the caller's context
 * without yielding: exactly the original bug. Returns when generation ended. */
void rsagen_keygen_job_run_inline(keygen_job_t *job);

/* Called by the owner every loop turn (at least every few tens of ms) while the job runs: resets the
 * job's watchdog entry if the task was found on the CPU since the last call and an RNG call came
 * within KEYGEN_STEP_LIMIT_MS. */
void rsagen_keygen_job_supervise(keygen_job_t *job);

/* Asks the generation to stop at its next RNG call. Non-blocking. */
void rsagen_keygen_job_cancel(keygen_job_t *job);

/* True once generation has ended and the task (if any) has exited and been joined. Non-blocking. */
bool rsagen_keygen_job_finished(keygen_job_t *job);

/* Waits up to timeout_ms for the end of generation; true if it ended. */
bool rsagen_keygen_job_wait(keygen_job_t *job, uint32_t timeout_ms);

void rsagen_keygen_job_info(const keygen_job_t *job, keygen_info_t *out);

/* The DER of a part, at the start of its buffer; NULL unless the job is DONE (the private part:
 * also NULL when the job has a sink). */
const uint8_t *rsagen_keygen_job_part(const keygen_job_t *job, keygen_part_t part, size_t *len);

/* Cancels, waits for the task to exit, zeroizes all key material and frees everything. NULL is ok. */
void rsagen_keygen_job_destroy(keygen_job_t *job);

#ifndef ESP_PLATFORM
/* Host build test knobs (firmware/host/host_main.c sets them from the environment): the step limit,
 * and a hook the task calls after mbedtls_rsa_gen_key (a stand-in for a long callback-free step). */
extern uint32_t rsagen_keygen_host_step_limit_ms;
extern void (*rsagen_keygen_host_after_gen)(void);
#endif

#ifdef __cplusplus
}
#endif

#endif /* KEYGEN_JOB_H */
