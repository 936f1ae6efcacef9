/* State shared by the command loop (cmd_loop.c) and the message handlers (handlers.c). */
#ifndef RSAGEN_APP_INTERNAL_H
#define RSAGEN_APP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "rsagen_config.h"
#include "rsagen_proto.h"

#if CONFIG_TOIT_CRYPTO_EXTRA
#include "keygen_job.h"
#endif
#if CONFIG_RSAGEN_KEY_SLOTS
#include "rsagen_slots.h"
#include "slot_job.h"
#endif

typedef struct {
    rsagen_decoder_t decoder;
    app_exit_t exit_request; /* set by REBOOT; APP_EXIT_CONSOLE_CLOSED = keep running */
    bool exit_requested;
#if CONFIG_TOIT_CRYPTO_EXTRA
    keygen_job_t *job;  /* the one job, from an accepted KEYGEN until CANCEL/RELEASE/REBOOT */
    uint32_t next_job_id;
    bool job_final_seen;  /* completion handled: hashes computed, DONE/FAILED event sent */
    uint8_t priv_sha256[32];
    uint8_t pub_sha256[32];
    uint32_t last_progress_ms;
    uint16_t keygen_req_id; /* the accepted KEYGEN, for duplicate detection (docs/protocol.md s.4) */
    uint8_t keygen_req[RSAGEN_KEYGEN_REQ_LEN];
    uint8_t job_kind; /* RSAGEN_JOB_* of the job that exists (KEYGEN or KEEP for `job`) */
#endif
#if CONFIG_RSAGEN_KEY_SLOTS
    rsagen_slots_t slots;               /* mounted at start (rsagen_app_slots_init) */
    rsagen_slots_status_t slots_status; /* SLOTS_OK, or why there are no slots */
    char keep_name[RSAGEN_SLOT_NAME_MAX + 1]; /* KEEP: the slot the job's sink stores into */
    bool keep_replace;
    slot_job_t *sjob; /* a CSR or SIGN job; exists only while `job` does not */
    bool sjob_final_seen;
    uint8_t out_sha256[32];
    uint16_t slot_req_id; /* the accepted KEEP/CSR/SIGN, for duplicate detection */
    uint8_t slot_req_type;
    uint8_t slot_req_sha256[32];
    uint32_t slot_req_job_id;
#endif
} app_t;

/* Frame output (cmd_loop.c). */
void rsagen_app_send(uint8_t type, uint16_t request_id, const uint8_t *payload, size_t len);
#if CONFIG_TOIT_CRYPTO_EXTRA
/* True at most once per RSAGEN_PROGRESS_INTERVAL_MS (it restarts the interval): time for PROGRESS. */
bool rsagen_app_progress_due(app_t *app);
/* The PROGRESS event of a running job (keygen, keep, CSR or sign). */
void rsagen_app_send_progress(uint32_t job_id, uint32_t elapsed_ms, uint32_t rng_calls, unsigned bits);
#endif
void rsagen_app_send_error(uint16_t request_id, uint8_t request_type, uint16_t code, const char *message);

/* Job bookkeeping (cmd_loop.c): handles a finished job once (hashes, DONE/FAILED event). */
void rsagen_app_poll_job(app_t *app);
/* Cancels, joins, zeroizes and frees the job, if any. Returns its state before (RSAGEN_STATE_*). */
uint8_t rsagen_app_free_job(app_t *app, uint32_t *job_id);
/* The job state in protocol numbering. */
uint8_t rsagen_app_job_state(const app_t *app);

/* Starts a keygen job for KEYGEN or KEEP (handlers.c): validation, creation, task, answer. With a
 * sink the job stores the key instead of holding it for READ. Returns the new job id, 0 if refused
 * (the ERROR answer was sent). */
#if CONFIG_TOIT_CRYPTO_EXTRA
uint32_t rsagen_app_start_keygen(app_t *app, const rsagen_frame_t *f, unsigned bits, uint32_t exponent,
                                 keygen_sink_fn sink, uint8_t kind);
#endif

/* Key slots (slot_handlers.c; when compiled out the requests answer UNSUPPORTED). */
void rsagen_app_slots_init(app_t *app);
void rsagen_app_handle_slot_request(app_t *app, const rsagen_frame_t *f);
/* Bytes after HELLO's strings: storage flags, slots used and capacity (the first 4 of
 * RSAGEN_HELLO_TAIL_LEN; handlers.c adds the reset reason). */
void rsagen_app_hello_tail(const app_t *app, uint8_t *p);
/* The CSR/SIGN job, handled like the keygen job by cmd_loop.c when it exists. */
bool rsagen_app_sjob_exists(const app_t *app);
uint8_t rsagen_app_sjob_state(const app_t *app);
void rsagen_app_poll_sjob(app_t *app);
uint8_t rsagen_app_free_sjob(app_t *app, uint32_t *job_id);
/* Fills the slot-job fields of STATUS (state, bits, id, timing, error, output) when it exists. */
void rsagen_app_fill_sjob_status(const app_t *app, uint8_t *p);
/* Answers a READ with data[offset .. offset+want) (RANGE past the end); zeroizes its copy. */
void rsagen_app_send_chunk(const rsagen_frame_t *f, const uint8_t *data, size_t len, uint32_t offset, uint16_t want);
/* READ of part OUTPUT (a CSR or SIGN job's result). */
void rsagen_app_read_output(app_t *app, const rsagen_frame_t *f, uint32_t offset, uint16_t want);

/* Handlers (handlers.c). */
/* Fills the 96-byte STATUS payload (also the DONE/FAILED event payload). */
void rsagen_app_fill_status(const app_t *app, uint8_t *p);
void rsagen_app_handle_frame(app_t *app, const rsagen_frame_t *frame);
uint16_t rsagen_app_features(void);

#endif /* RSAGEN_APP_INTERNAL_H */
