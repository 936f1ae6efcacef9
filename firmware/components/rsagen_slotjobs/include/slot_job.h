/*
 * Jobs that use a key slot's private key without it ever leaving the board: a PKCS#10 certificate
 * signing request (csr_job.c) and a signature over a SHA-256 digest (sign_job.c). Same model as the
 * keygen job (keygen_job.h, docs/firmware.md):
 *
 *  - The command loop validates the request and creates the job: every buffer the task writes (the
 *    slot key's DER, the output) is allocated here, at its worst-case size, and the CTR-DRBG seeded;
 *    the CSR's subject and SAN extension are set up here too, so a bad subject is refused at once.
 *  - Starting it adds a task-watchdog user entry "rsagen_slotjob" and creates a task at the idle
 *    priority (RSAGEN_OS_PRIO_BACKGROUND) that reads the slot's private key from flash, parses it
 *    (the DER is zeroized right after), builds the output with Mbed TLS and frees the key (which
 *    zeroizes its big numbers). A 4096-bit private-key operation is one long step without callbacks
 *    (about a second on a chip): the loop resets the entry while the task is seen on the CPU and its
 *    last step began within the keygen step limit (rsagen_slot_job_supervise).
 *  - Cancel sets a flag checked between steps and in the RNG callback (RSA blinding draws from it);
 *    destroy cancels, joins the task, zeroizes and frees. Single owner: the command loop.
 *
 * Our task code calls no allocator; Mbed TLS allocates the parsed key's context and big numbers (and,
 * in 3.x, the CSR's signature buffer) itself, and their failure ends the job FAILED.
 */
#ifndef SLOT_JOB_H
#define SLOT_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsagen_slots.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SLOT_JOB_TASK_STACK_BYTES 8192u
#define SLOT_JOB_MAX_SUBJECT 512u
#define SLOT_JOB_MAX_SANS 16u
/* Output cap of a CSR: the largest request (512-byte subject, 16 SANs in a 1 KiB frame) with a
 * 4096-bit key is under 3 KiB of DER. */
#define SLOT_JOB_CSR_OUT_MAX 4096u

/* A failed slot read ends the job with mbedtls_err = SLOT_JOB_ERR_SLOT(rsagen_slots_status_t), the
 * same codes as a failed KEEP store (docs/protocol.md): -0x5A11 not found .. -0x5A17 no storage. */
#define SLOT_JOB_ERR_SLOT(st) (-(0x5A10 + (int)(st)))
#define SLOT_JOB_ERR_CANCELLED (-0x5A00)

typedef enum { SLOT_JOB_CSR = 2, SLOT_JOB_SIGN = 3 } slot_job_kind_t;

typedef enum { SLOT_SIGN_PKCS1_V15 = 0, SLOT_SIGN_PSS = 1 } slot_sign_scheme_t;

typedef enum {
    SLOTJOB_OK = 0,
    SLOTJOB_E_NO_MEM,    /* a buffer, the task, or Mbed TLS's CSR context could not be allocated */
    SLOTJOB_E_ENTROPY,   /* the DRBG could not be seeded */
    SLOTJOB_E_SUBJECT,   /* Mbed TLS refused the subject string */
    SLOTJOB_E_ARGS,      /* a SAN, the scheme or the slot's key size is unusable */
} slot_job_status_t;

typedef enum {
    SLOTJOB_STATE_CREATED = 0,
    SLOTJOB_STATE_RUNNING,
    SLOTJOB_STATE_DONE,
    SLOTJOB_STATE_FAILED,
    SLOTJOB_STATE_CANCELLED,
} slot_job_state_t;

/* A subjectAltName entry: type is the GeneralName tag number (RFC 5280 4.2.1.6): 1 rfc822Name,
 * 2 dNSName, 6 URI (IA5String), 7 iPAddress (4 or 16 bytes). */
typedef struct {
    uint8_t type;
    uint8_t len;
    const uint8_t *value;
} slot_san_t;

typedef struct {
    slot_job_kind_t kind;
    const char *slot; /* NUL-terminated, a live slot (checked by the caller) */
    /* CSR */
    const char *subject; /* e.g. "CN=device-42,O=Example" (Mbed TLS's string form) */
    size_t subject_len;
    const slot_san_t *sans;
    unsigned san_count;
    /* SIGN */
    slot_sign_scheme_t scheme;
    uint8_t digest[32]; /* SHA-256 of the data */
} slot_job_request_t;

typedef struct {
    slot_job_state_t state;
    slot_job_kind_t kind;
    uint32_t id;
    unsigned bits;       /* of the slot's key */
    uint32_t elapsed_ms; /* since the task started; frozen at the end */
    uint32_t rng_calls;
    int32_t mbedtls_err; /* 0 unless FAILED */
    size_t out_len;      /* 0 unless DONE */
    uint32_t wdt_resets;
    uint32_t stack_free_min; /* ESP-IDF: stack high-water mark in bytes at the end; host: 0 */
} slot_job_info_t;

typedef struct slot_job slot_job_t;

/* Validates, allocates everything, seeds the DRBG and (CSR) sets up subject and SANs. On any error
 * nothing stays allocated. `slots` must stay mounted and untouched by others while the job runs. */
slot_job_status_t rsagen_slot_job_create(slot_job_t **out, const slot_job_request_t *req, rsagen_slots_t *slots,
                                         uint32_t id);
slot_job_status_t rsagen_slot_job_start(slot_job_t *job);
void rsagen_slot_job_supervise(slot_job_t *job);
void rsagen_slot_job_cancel(slot_job_t *job);
bool rsagen_slot_job_finished(slot_job_t *job);
bool rsagen_slot_job_wait(slot_job_t *job, uint32_t timeout_ms);
void rsagen_slot_job_info(const slot_job_t *job, slot_job_info_t *out);
/* The output (CSR DER, or the signature) at the start of its buffer; NULL unless DONE. */
const uint8_t *rsagen_slot_job_output(const slot_job_t *job, size_t *len);
void rsagen_slot_job_destroy(slot_job_t *job);

#ifdef __cplusplus
}
#endif

#endif /* SLOT_JOB_H */
