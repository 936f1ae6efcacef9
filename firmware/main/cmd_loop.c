/*
 * The command loop: reads the console, decodes frames among the other bytes, hands requests to the
 * handlers one at a time, and watches the keygen job (PROGRESS every 500 ms, DONE/FAILED once).
 * It runs at KEYGEN_CMD_LOOP_PRIO, above the keygen task, and blocks in rsagen_console_read between
 * requests, which is when IDLE and the keygen task (both at the idle priority) get the CPU on its
 * core. Every turn it also supervises the job's watchdog entry (rsagen_keygen_job_supervise).
 */
#include <stdio.h>
#include <string.h>

#include "app_internal.h"
#include "console.h"
#include "mbedtls/version.h"
#include "platform.h"
#include "rsagen_os.h"

#if CONFIG_TOIT_CRYPTO_EXTRA
#include "rsagen_mbedtls_compat.h"
#endif
#ifndef ESP_PLATFORM
#include "os_posix.h"
#endif

static const char *TAG = "rsagen";

/* Console read timeout: the loop's tick for job polling, supervision and PROGRESS events. At least
 * 50 turns per watchdog period, so the job's entry is reset within 2% of the timeout of its
 * evidence: 10 ms on a chip (ESP-IDF's smallest timeout is 1 s), shorter on the host build when it
 * runs with a scaled-down timeout (--wdt-ms). */
#define LOOP_POLL_MAX_MS 10u

static uint32_t loop_poll_ms(void)
{
    uint32_t wdt = rsagen_os_wdt_timeout_ms();
    uint32_t ms = wdt == 0 ? LOOP_POLL_MAX_MS : wdt / 50u;
    return ms < 1u ? 1u : ms > LOOP_POLL_MAX_MS ? LOOP_POLL_MAX_MS : ms;
}
/* The decoder's held-back partial frame is flushed as text after this much RX silence. */
#define RX_IDLE_FLUSH_MS 100u

static uint8_t s_tx[RSAGEN_PROTO_MAX_FRAME];

void rsagen_app_send(uint8_t type, uint16_t request_id, const uint8_t *payload, size_t len)
{
    size_t n = rsagen_proto_encode(s_tx, sizeof s_tx, type, request_id, payload, len);
    if (n > 0) rsagen_console_write(s_tx, n);
}

void rsagen_app_send_error(uint16_t request_id, uint8_t request_type, uint16_t code, const char *message)
{
    uint8_t p[RSAGEN_ERROR_FIXED_LEN + RSAGEN_ERROR_MAX_MESSAGE];
    size_t mlen = strlen(message);
    if (mlen > RSAGEN_ERROR_MAX_MESSAGE) mlen = RSAGEN_ERROR_MAX_MESSAGE;
    rsagen_put_u16le(p + RSAGEN_ERROR_OFF_CODE, code);
    p[RSAGEN_ERROR_OFF_REQUEST_TYPE] = request_type;
    p[RSAGEN_ERROR_OFF_PROTO_VERSION] = RSAGEN_PROTO_VERSION;
    memcpy(p + RSAGEN_ERROR_OFF_MESSAGE, message, mlen);
    rsagen_app_send(RSAGEN_MSG_ERROR | RSAGEN_PROTO_RESPONSE_FLAG, request_id, p, RSAGEN_ERROR_FIXED_LEN + mlen);
}

uint16_t rsagen_app_features(void)
{
    uint16_t f = 0;
#if CONFIG_TOIT_CRYPTO_EXTRA
    f |= RSAGEN_FEAT_CRYPTO_EXTRA;
#endif
#if CONFIG_MBEDTLS_HARDWARE_MPI
    f |= RSAGEN_FEAT_HW_MPI;
#endif
#if CONFIG_RSAGEN_INLINE_KEYGEN
    f |= RSAGEN_FEAT_INLINE_KEYGEN;
#endif
    if (rsagen_platform_is_host()) f |= RSAGEN_FEAT_HOST_BUILD;
    if (rsagen_platform_download_reboot_supported()) f |= RSAGEN_FEAT_DOWNLOAD_REBOOT;
#if CONFIG_RSAGEN_KEY_SLOTS
    f |= RSAGEN_FEAT_KEY_SLOTS;
#endif
#if CONFIG_RSAGEN_SLOT_CSR
    f |= RSAGEN_FEAT_SLOT_CSR;
#endif
    return f;
}

void rsagen_app_log_banner(void)
{
    OS_LOGI(TAG, "rsagen %s on %s, %s, crypto-extra %s, hw-mpi %s, inline-keygen %s, task wdt %u ms",
            rsagen_platform_fw_version(), rsagen_platform_target(), MBEDTLS_VERSION_STRING_FULL,
            (rsagen_app_features() & RSAGEN_FEAT_CRYPTO_EXTRA) ? "on" : "off",
            (rsagen_app_features() & RSAGEN_FEAT_HW_MPI) ? "on" : "off",
            (rsagen_app_features() & RSAGEN_FEAT_INLINE_KEYGEN) ? "on" : "off", (unsigned)rsagen_os_wdt_timeout_ms());
}

static void send_boot_event(void)
{
    uint8_t p[RSAGEN_BOOT_FIXED_LEN + 2 * (1 + RSAGEN_HELLO_MAX_STRING)];
    memset(p, 0, RSAGEN_BOOT_FIXED_LEN);
    p[RSAGEN_BOOT_OFF_PROTO_VERSION] = RSAGEN_PROTO_VERSION;
    rsagen_put_u16le(p + RSAGEN_BOOT_OFF_FEATURES, rsagen_app_features());
    rsagen_put_u32le(p + RSAGEN_BOOT_OFF_RESET_REASON, rsagen_platform_reset_reason());
    size_t n = RSAGEN_BOOT_FIXED_LEN;
    n += rsagen_put_str(p + n, rsagen_platform_fw_version());
    n += rsagen_put_str(p + n, rsagen_platform_target());
    rsagen_app_send(RSAGEN_EVT_BOOT, 0, p, n);
}

/* ---- job bookkeeping ------------------------------------------------------------------------- */

#if CONFIG_TOIT_CRYPTO_EXTRA
bool rsagen_app_progress_due(app_t *app)
{
    uint32_t now = rsagen_os_ms();
    if (now - app->last_progress_ms < RSAGEN_PROGRESS_INTERVAL_MS) return false;
    app->last_progress_ms = now;
    return true;
}

void rsagen_app_send_progress(uint32_t job_id, uint32_t elapsed_ms, uint32_t rng_calls, unsigned bits)
{
    uint8_t p[RSAGEN_PROGRESS_LEN] = {0};
    rsagen_put_u32le(p + RSAGEN_PROGRESS_OFF_JOB_ID, job_id);
    rsagen_put_u32le(p + RSAGEN_PROGRESS_OFF_ELAPSED_MS, elapsed_ms);
    rsagen_put_u32le(p + RSAGEN_PROGRESS_OFF_RNG_CALLS, rng_calls);
    rsagen_put_u16le(p + RSAGEN_PROGRESS_OFF_BITS, (uint16_t)bits);
    rsagen_app_send(RSAGEN_EVT_PROGRESS, 0, p, sizeof p);
}
#endif

#if CONFIG_TOIT_CRYPTO_EXTRA
static uint8_t to_proto_state(keygen_state_t s)
{
    switch (s) {
    case KEYGEN_STATE_RUNNING: return RSAGEN_STATE_RUNNING;
    case KEYGEN_STATE_DONE: return RSAGEN_STATE_DONE;
    case KEYGEN_STATE_FAILED: return RSAGEN_STATE_FAILED;
    case KEYGEN_STATE_CANCELLED: return RSAGEN_STATE_CANCELLED;
    default: return RSAGEN_STATE_RUNNING; /* CREATED is never stored as the app's job */
    }
}
#endif

uint8_t rsagen_app_job_state(const app_t *app)
{
    if (rsagen_app_sjob_exists(app)) return rsagen_app_sjob_state(app);
#if CONFIG_TOIT_CRYPTO_EXTRA
    if (app->job == NULL) return RSAGEN_STATE_IDLE;
    keygen_info_t info;
    rsagen_keygen_job_info(app->job, &info);
    return to_proto_state(info.state);
#else
    (void)app;
    return RSAGEN_STATE_IDLE;
#endif
}

void rsagen_app_poll_job(app_t *app)
{
    rsagen_app_poll_sjob(app); /* the CSR/SIGN job (slot_handlers.c), if that is the one */
#if CONFIG_TOIT_CRYPTO_EXTRA
    if (app->job == NULL || app->job_final_seen) return;
    keygen_info_t info;
    if (!rsagen_keygen_job_finished(app->job)) {
        rsagen_keygen_job_supervise(app->job);
        if (rsagen_app_progress_due(app)) {
            rsagen_keygen_job_info(app->job, &info);
            rsagen_app_send_progress(info.id, info.elapsed_ms, info.rng_calls, info.bits);
        }
        return;
    }
    app->job_final_seen = true;
    rsagen_keygen_job_info(app->job, &info);
    size_t len = 0;
    const uint8_t *der = rsagen_keygen_job_part(app->job, KEYGEN_PART_PRIVATE, &len);
    if (der != NULL) (void)rsagen_sha256(der, len, app->priv_sha256);
    der = rsagen_keygen_job_part(app->job, KEYGEN_PART_PUBLIC, &len);
    if (der != NULL) (void)rsagen_sha256(der, len, app->pub_sha256);

    char wdt_note[96] = "";
#ifndef ESP_PLATFORM
    /* Host build: the emulated watchdog's longest gap between feeds during this job. */
    os_posix_wdt_stats_t st;
    rsagen_os_posix_wdt_stats_take(&st);
    snprintf(wdt_note, sizeof wdt_note, ", max wdt feed gap %u us of %u ms", (unsigned)st.max_gap_us,
             (unsigned)rsagen_os_wdt_timeout_ms());
#endif
    if (info.state == KEYGEN_STATE_DONE) {
        OS_LOGI("keygen", "job %u: %u-bit key in %u ms, %u rng calls, %u wdt resets, max rng gap %u us%s%s",
                (unsigned)info.id, info.bits, (unsigned)info.elapsed_ms, (unsigned)info.rng_calls,
                (unsigned)info.wdt_resets, (unsigned)info.max_rng_gap_us, wdt_note,
                app->job_kind == RSAGEN_JOB_KEEP ? ", kept in its slot" : "");
    } else {
        OS_LOGW("keygen", "job %u ended %s after %u ms (mbedtls error -0x%04X)", (unsigned)info.id,
                info.state == KEYGEN_STATE_CANCELLED ? "cancelled" : "failed", (unsigned)info.elapsed_ms,
                (unsigned)-info.mbedtls_err);
    }
#ifdef ESP_PLATFORM
    OS_LOGI("keygen", "task stack high-water mark: %u bytes free", (unsigned)info.stack_free_min);
#endif
    if (info.state == KEYGEN_STATE_DONE || info.state == KEYGEN_STATE_FAILED) {
        uint8_t p[RSAGEN_STATUS_LEN];
        rsagen_app_fill_status(app, p);
        rsagen_app_send(info.state == KEYGEN_STATE_DONE ? RSAGEN_EVT_DONE : RSAGEN_EVT_FAILED, 0, p, sizeof p);
    }
#else
    (void)app;
#endif
}

uint8_t rsagen_app_free_job(app_t *app, uint32_t *job_id)
{
    *job_id = 0;
    if (rsagen_app_sjob_exists(app)) return rsagen_app_free_sjob(app, job_id);
#if CONFIG_TOIT_CRYPTO_EXTRA
    if (app->job == NULL) return RSAGEN_STATE_IDLE;
    uint8_t prev = rsagen_app_job_state(app);
    keygen_info_t info;
    rsagen_keygen_job_info(app->job, &info);
    *job_id = info.id;
    rsagen_keygen_job_destroy(app->job); /* cancel, join the task, zeroize, free */
    app->job = NULL;
    app->job_final_seen = false;
    memset(app->priv_sha256, 0, sizeof app->priv_sha256);
    memset(app->pub_sha256, 0, sizeof app->pub_sha256);
    app->keygen_req_id = 0;
    app->job_kind = RSAGEN_JOB_KEYGEN;
#if CONFIG_RSAGEN_KEY_SLOTS
    app->slot_req_id = 0;
#endif
#ifndef ESP_PLATFORM
    os_posix_wdt_stats_t st;
    rsagen_os_posix_wdt_stats_take(&st); /* start a fresh statistics window for the next job */
#endif
    return prev;
#else
    (void)app;
    return RSAGEN_STATE_IDLE;
#endif
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void on_frame(void *ctx, const rsagen_frame_t *frame) { rsagen_app_handle_frame(ctx, frame); }

app_exit_t rsagen_app_run(void)
{
    static app_t app; /* static: the decoder's 1 KiB buffer stays off the loop's stack */
    memset(&app, 0, sizeof app);
#if CONFIG_TOIT_CRYPTO_EXTRA
    app.next_job_id = 1;
#endif
    rsagen_decoder_init(&app.decoder, on_frame, NULL, &app); /* console text from the host is ignored */
    rsagen_app_slots_init(&app); /* mounting also finishes or undoes what a power cut interrupted */
    send_boot_event();

    uint8_t rx[256];
    uint32_t last_rx_ms = rsagen_os_ms();
    const uint32_t poll_ms = loop_poll_ms();
    while (!app.exit_requested) {
        int n = rsagen_console_read(rx, sizeof rx, poll_ms);
        if (n < 0) break;
        if (n > 0) {
            last_rx_ms = rsagen_os_ms();
            /* Requests are handled from inside feed, one at a time, in arrival order. */
            rsagen_decoder_feed(&app.decoder, rx, (size_t)n);
        } else if (app.decoder.n > 0 && rsagen_os_ms() - last_rx_ms >= RX_IDLE_FLUSH_MS) {
            rsagen_decoder_flush(&app.decoder);
        }
        rsagen_app_poll_job(&app);
    }
    uint32_t id;
    (void)rsagen_app_free_job(&app, &id);
    return app.exit_requested ? app.exit_request : APP_EXIT_CONSOLE_CLOSED;
}
