/*
 * Message handlers of the device protocol (docs/protocol.md sections 2-5). Each request gets exactly
 * one answer: its response, or ERROR. Called from the command loop only.
 */
#include <string.h>

#include "app_internal.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/version.h"
#include "platform.h"
#include "rsagen_os.h"

#if CONFIG_TOIT_CRYPTO_EXTRA
#include "rsagen_mbedtls_compat.h"
#endif

static const char *TAG = "rsagen";

#if CONFIG_TOIT_CRYPTO_EXTRA
#define MIN_BITS KEYGEN_MIN_BITS
#define MAX_BITS KEYGEN_MAX_BITS
#else
#define MIN_BITS 0u
#define MAX_BITS 0u
#endif

static uint8_t resp(uint8_t type) { return (uint8_t)(type | RSAGEN_PROTO_RESPONSE_FLAG); }

static void handle_hello(app_t *app, const rsagen_frame_t *f)
{
    uint8_t p[RSAGEN_HELLO_FIXED_LEN + 4 * (1 + RSAGEN_HELLO_MAX_STRING) + RSAGEN_HELLO_TAIL_LEN];
    memset(p, 0, RSAGEN_HELLO_FIXED_LEN);
    p[RSAGEN_HELLO_OFF_PROTO_VERSION] = RSAGEN_PROTO_VERSION;
    p[RSAGEN_HELLO_OFF_JOB_STATE] = rsagen_app_job_state(app);
    rsagen_put_u16le(p + RSAGEN_HELLO_OFF_FEATURES, rsagen_app_features());
    rsagen_put_u16le(p + RSAGEN_HELLO_OFF_MIN_BITS, (uint16_t)MIN_BITS);
    rsagen_put_u16le(p + RSAGEN_HELLO_OFF_MAX_BITS, (uint16_t)MAX_BITS);
    rsagen_put_u32le(p + RSAGEN_HELLO_OFF_MBEDTLS_VERSION, (uint32_t)MBEDTLS_VERSION_NUMBER);
    rsagen_put_u32le(p + RSAGEN_HELLO_OFF_FREE_HEAP, (uint32_t)rsagen_os_free_heap());
    rsagen_put_u32le(p + RSAGEN_HELLO_OFF_LARGEST_BLOCK, (uint32_t)rsagen_os_largest_free_block());
    rsagen_put_u32le(p + RSAGEN_HELLO_OFF_WDT_TIMEOUT_MS, rsagen_os_wdt_timeout_ms());
    size_t n = RSAGEN_HELLO_FIXED_LEN;
    n += rsagen_put_str(p + n, rsagen_platform_fw_version());
    n += rsagen_put_str(p + n, rsagen_platform_target());
    n += rsagen_put_str(p + n, rsagen_platform_idf_version());
    n += rsagen_put_str(p + n, MBEDTLS_VERSION_STRING_FULL);
    rsagen_app_hello_tail(app, p + n); /* storage: flash encryption, key partition, slots */
    rsagen_put_u32le(p + n + RSAGEN_HELLO_TAIL_OFF_RESET_REASON, rsagen_platform_reset_reason());
    n += RSAGEN_HELLO_TAIL_LEN;
    /* HELLO is version-proof: answered in our own version whatever the request carried. */
    rsagen_app_send(resp(RSAGEN_MSG_HELLO), f->request_id, p, n);
}

void rsagen_app_fill_status(const app_t *app, uint8_t *p)
{
    memset(p, 0, RSAGEN_STATUS_LEN);
    p[RSAGEN_STATUS_OFF_STATE] = rsagen_app_job_state(app);
    if (rsagen_app_sjob_exists(app)) {
        rsagen_app_fill_sjob_status(app, p);
        return;
    }
#if CONFIG_TOIT_CRYPTO_EXTRA
    if (app->job == NULL) return;
    p[RSAGEN_STATUS_OFF_KIND] = app->job_kind;
    keygen_info_t info;
    rsagen_keygen_job_info(app->job, &info);
    rsagen_put_u16le(p + RSAGEN_STATUS_OFF_BITS, (uint16_t)info.bits);
    rsagen_put_u32le(p + RSAGEN_STATUS_OFF_JOB_ID, info.id);
    rsagen_put_u32le(p + RSAGEN_STATUS_OFF_EXPONENT, info.exponent);
    rsagen_put_u32le(p + RSAGEN_STATUS_OFF_ELAPSED_MS, info.elapsed_ms);
    rsagen_put_u32le(p + RSAGEN_STATUS_OFF_RNG_CALLS, info.rng_calls);
    if (info.state == KEYGEN_STATE_FAILED) {
        rsagen_put_u32le(p + RSAGEN_STATUS_OFF_MBEDTLS_ERR, (uint32_t)info.mbedtls_err);
    }
    if (info.state == KEYGEN_STATE_DONE && app->job_final_seen) {
        rsagen_put_u32le(p + RSAGEN_STATUS_OFF_PRIV_LEN, (uint32_t)info.priv_len);
        rsagen_put_u32le(p + RSAGEN_STATUS_OFF_PUB_LEN, (uint32_t)info.pub_len);
        memcpy(p + RSAGEN_STATUS_OFF_PRIV_SHA256, app->priv_sha256, 32);
        memcpy(p + RSAGEN_STATUS_OFF_PUB_SHA256, app->pub_sha256, 32);
    }
#endif
}

static void handle_status(app_t *app, const rsagen_frame_t *f)
{
    rsagen_app_poll_job(app); /* a job that just finished gets its hashes (and its event) first */
    uint8_t p[RSAGEN_STATUS_LEN];
    rsagen_app_fill_status(app, p);
    rsagen_app_send(resp(RSAGEN_MSG_STATUS), f->request_id, p, sizeof p);
}

static void send_jobend(uint8_t type, uint16_t id, uint8_t prev, uint32_t job_id)
{
    uint8_t p[RSAGEN_JOBEND_LEN] = {0};
    p[RSAGEN_JOBEND_OFF_PREV_STATE] = prev;
    rsagen_put_u32le(p + RSAGEN_JOBEND_OFF_JOB_ID, job_id);
    rsagen_app_send(resp(type), id, p, sizeof p);
}

static void handle_cancel(app_t *app, const rsagen_frame_t *f)
{
    uint32_t job_id;
    /* Answers only after the task has exited and the job is zeroized and freed. */
    uint8_t prev = rsagen_app_free_job(app, &job_id);
    if (job_id != 0) OS_LOGI(TAG, "job %u cancelled and freed", (unsigned)job_id);
    send_jobend(RSAGEN_MSG_CANCEL, f->request_id, prev, job_id);
}

static void handle_release(app_t *app, const rsagen_frame_t *f)
{
    if (rsagen_app_job_state(app) == RSAGEN_STATE_RUNNING) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BUSY, "job running; cancel it first");
        return;
    }
    uint32_t job_id;
    uint8_t prev = rsagen_app_free_job(app, &job_id);
    send_jobend(RSAGEN_MSG_RELEASE, f->request_id, prev, job_id);
}

#if CONFIG_TOIT_CRYPTO_EXTRA
uint32_t rsagen_app_start_keygen(app_t *app, const rsagen_frame_t *f, unsigned bits, uint32_t exponent,
                                 keygen_sink_fn sink, uint8_t kind)
{
    keygen_job_t *job = NULL;
    keygen_status_t st = rsagen_keygen_job_create(&job, bits, exponent, app->next_job_id);
    if (st == KEYGEN_OK) {
        rsagen_keygen_job_set_sink(job, sink, app);
#if !CONFIG_RSAGEN_INLINE_KEYGEN
        st = rsagen_keygen_job_start(job);
        if (st != KEYGEN_OK) {
            rsagen_keygen_job_destroy(job);
            job = NULL;
        }
#endif
    }
    switch (st) {
    case KEYGEN_OK: break;
    case KEYGEN_E_BITS:
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "bits must be 1024..4096, multiple of 8");
        return 0;
    case KEYGEN_E_EXPONENT:
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "exponent must be odd, 3..2^31-1");
        return 0;
    case KEYGEN_E_NO_MEM:
        OS_LOGW(TAG, "keygen %u bits: out of memory (%u bytes free)", bits, (unsigned)rsagen_os_free_heap());
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NO_MEM, "out of memory for key buffers or task");
        return 0;
    default:
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_INTERNAL, "entropy source failed");
        return 0;
    }
    uint32_t id = app->next_job_id;
    app->job = job;
    app->job_kind = kind;
    app->job_final_seen = false;
    app->last_progress_ms = rsagen_os_ms();
    app->next_job_id = app->next_job_id == UINT32_MAX ? 1 : app->next_job_id + 1;
    OS_LOGI(TAG, "job %u: generating a %u-bit key (e=%u)%s", (unsigned)id, bits, (unsigned)exponent,
            kind == RSAGEN_JOB_KEEP ? " to keep on the board" : "");
    uint8_t p[RSAGEN_KEYGEN_RESP_LEN];
    rsagen_put_u32le(p + RSAGEN_KEYGEN_RESP_OFF_JOB_ID, id);
    rsagen_app_send(resp(f->type), f->request_id, p, sizeof p);
#if CONFIG_RSAGEN_INLINE_KEYGEN
    /* Negative control: the original bug. The command loop computes the whole key without
     * blocking, so IDLE starves and the task watchdog fires on any long generation. */
    rsagen_keygen_job_run_inline(job);
#endif
    return id;
}
#endif

static void handle_keygen(app_t *app, const rsagen_frame_t *f)
{
#if CONFIG_TOIT_CRYPTO_EXTRA
    if (f->length < RSAGEN_KEYGEN_REQ_LEN) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "keygen payload too short");
        return;
    }
    if (app->job != NULL && app->job_kind == RSAGEN_JOB_KEYGEN && f->request_id == app->keygen_req_id &&
        memcmp(f->payload, app->keygen_req, RSAGEN_KEYGEN_REQ_LEN) == 0) {
        /* A retry of the accepted request (same id, same payload) gets the same answer again. */
        keygen_info_t info;
        rsagen_keygen_job_info(app->job, &info);
        uint8_t p[RSAGEN_KEYGEN_RESP_LEN];
        rsagen_put_u32le(p + RSAGEN_KEYGEN_RESP_OFF_JOB_ID, info.id);
        rsagen_app_send(resp(RSAGEN_MSG_KEYGEN), f->request_id, p, sizeof p);
        return;
    }
    if (app->job != NULL || rsagen_app_sjob_exists(app)) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BUSY, "job exists");
        return;
    }
    unsigned bits = rsagen_get_u16le(f->payload + RSAGEN_KEYGEN_OFF_BITS);
    uint32_t exponent = rsagen_get_u32le(f->payload + RSAGEN_KEYGEN_OFF_EXPONENT);
    if (rsagen_app_start_keygen(app, f, bits, exponent, NULL, RSAGEN_JOB_KEYGEN) == 0) return;
    app->keygen_req_id = f->request_id;
    memcpy(app->keygen_req, f->payload, RSAGEN_KEYGEN_REQ_LEN);
#else
    (void)app;
    rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_UNSUPPORTED, "keygen not compiled in (crypto-extra off)");
#endif
}

void rsagen_app_send_chunk(const rsagen_frame_t *f, const uint8_t *data, size_t len, uint32_t offset, uint16_t want)
{
    if (offset > len) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_RANGE, "offset beyond the part");
        return;
    }
    size_t n = len - offset < want ? len - offset : want;
    static uint8_t p[RSAGEN_PROTO_MAX_PAYLOAD]; /* static: off the loop's stack */
    memcpy(p, f->payload, RSAGEN_READ_RESP_HEADER_LEN);
    p[RSAGEN_READ_OFF_RESERVED] = 0;
    rsagen_put_u16le(p + RSAGEN_READ_OFF_LENGTH, (uint16_t)n);
    memcpy(p + RSAGEN_READ_RESP_HEADER_LEN, data + offset, n);
    rsagen_app_send(resp(RSAGEN_MSG_READ), f->request_id, p, RSAGEN_READ_RESP_HEADER_LEN + n);
    mbedtls_platform_zeroize(p, sizeof p); /* no stray copy of key bytes outside the job */
}

static void handle_read(app_t *app, const rsagen_frame_t *f)
{
    if (f->length < RSAGEN_READ_REQ_LEN) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "read payload too short");
        return;
    }
    uint8_t part = f->payload[RSAGEN_READ_OFF_PART];
    uint16_t want = rsagen_get_u16le(f->payload + RSAGEN_READ_OFF_LENGTH);
    uint32_t offset = rsagen_get_u32le(f->payload + RSAGEN_READ_OFF_OFFSET);
    if (part > RSAGEN_PART_OUTPUT || want == 0 || want > RSAGEN_READ_MAX_CHUNK) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "part must be 0..2, length 1..1016");
        return;
    }
    if (part == RSAGEN_PART_OUTPUT) {
        rsagen_app_read_output(app, f, offset, want);
        return;
    }
    if (rsagen_app_sjob_exists(app)) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NO_JOB, "no key job (a CSR/SIGN job has part 2)");
        return;
    }
#if CONFIG_TOIT_CRYPTO_EXTRA
    if (app->job != NULL && app->job_kind == RSAGEN_JOB_KEEP && part == RSAGEN_PART_PRIV) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NOT_ALLOWED, "the private key stays on the board");
        return;
    }
    if (app->job == NULL) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NO_JOB, "no job");
        return;
    }
    rsagen_app_poll_job(app);
    size_t len = 0;
    const uint8_t *der = app->job_final_seen
                             ? rsagen_keygen_job_part(app->job, part == RSAGEN_PART_PRIV ? KEYGEN_PART_PRIVATE
                                                                                  : KEYGEN_PART_PUBLIC, &len)
                             : NULL;
    if (der == NULL) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NOT_READY, "job not done");
        return;
    }
    rsagen_app_send_chunk(f, der, len, offset, want);
#else
    (void)app;
    (void)offset;
    rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NO_JOB, "no job (keygen not compiled in)");
#endif
}

static void handle_reboot(app_t *app, const rsagen_frame_t *f)
{
    if (f->length < RSAGEN_REBOOT_REQ_LEN || f->payload[RSAGEN_REBOOT_OFF_MODE] > RSAGEN_REBOOT_DOWNLOAD) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "reboot mode must be 0 or 1");
        return;
    }
    bool download = f->payload[RSAGEN_REBOOT_OFF_MODE] == RSAGEN_REBOOT_DOWNLOAD;
    if (download && !rsagen_platform_download_reboot_supported()) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_UNSUPPORTED, "no download-mode reboot on this chip");
        return;
    }
    uint32_t job_id;
    (void)rsagen_app_free_job(app, &job_id); /* same path as CANCEL: the task exits before anything else */
    OS_LOGI(TAG, "restarting%s", download ? " into download mode" : "");
    rsagen_app_send(resp(RSAGEN_MSG_REBOOT), f->request_id, NULL, 0);
    app->exit_requested = true;
    app->exit_request = download ? APP_EXIT_REBOOT_DOWNLOAD : APP_EXIT_REBOOT;
}

void rsagen_app_handle_frame(app_t *app, const rsagen_frame_t *f)
{
    if (app->exit_requested) return; /* frames after a REBOOT in the same read are not executed */
    /* Responses and events are what we send; one arriving here is not a request. */
    if ((f->type & RSAGEN_PROTO_RESPONSE_FLAG) != 0 || f->request_id == 0) return;
    if (f->type == RSAGEN_MSG_HELLO) {
        handle_hello(app, f);
        return;
    }
    if (f->version != RSAGEN_PROTO_VERSION) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_VERSION, "protocol version mismatch");
        return;
    }
    switch (f->type) {
    case RSAGEN_MSG_PING: rsagen_app_send(resp(RSAGEN_MSG_PING), f->request_id, f->payload, f->length); break;
    case RSAGEN_MSG_KEYGEN: handle_keygen(app, f); break;
    case RSAGEN_MSG_STATUS: handle_status(app, f); break;
    case RSAGEN_MSG_CANCEL: handle_cancel(app, f); break;
    case RSAGEN_MSG_READ: handle_read(app, f); break;
    case RSAGEN_MSG_RELEASE: handle_release(app, f); break;
    case RSAGEN_MSG_REBOOT: handle_reboot(app, f); break;
    case RSAGEN_MSG_SLOT_LIST:
    case RSAGEN_MSG_SLOT_INFO:
    case RSAGEN_MSG_SLOT_DELETE:
    case RSAGEN_MSG_KEEP:
    case RSAGEN_MSG_CSR:
    case RSAGEN_MSG_SIGN: rsagen_app_handle_slot_request(app, f); break;
    default: rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_UNKNOWN_TYPE, "unknown request type"); break;
    }
}
