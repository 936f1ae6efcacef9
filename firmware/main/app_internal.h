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
#endif
} app_t;

/* Frame output (cmd_loop.c). */
void rsagen_app_send(uint8_t type, uint16_t request_id, const uint8_t *payload, size_t len);
void rsagen_app_send_error(uint16_t request_id, uint8_t request_type, uint16_t code, const char *message);

/* Job bookkeeping (cmd_loop.c): handles a finished job once (hashes, DONE/FAILED event). */
void rsagen_app_poll_job(app_t *app);
/* Cancels, joins, zeroizes and frees the job, if any. Returns its state before (RSAGEN_STATE_*). */
uint8_t rsagen_app_free_job(app_t *app, uint32_t *job_id);
/* The job state in protocol numbering. */
uint8_t rsagen_app_job_state(const app_t *app);

/* Handlers (handlers.c). */
/* Fills the 96-byte STATUS payload (also the DONE/FAILED event payload). */
void rsagen_app_fill_status(const app_t *app, uint8_t *p);
void rsagen_app_handle_frame(app_t *app, const rsagen_frame_t *frame);
uint16_t rsagen_app_features(void);

#endif /* RSAGEN_APP_INTERNAL_H */
