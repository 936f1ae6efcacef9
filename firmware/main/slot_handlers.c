/*
 * Key-slot requests (docs/protocol.md section 3, "Key slots"): SLOT_LIST, SLOT_INFO, SLOT_DELETE,
 * KEEP (a keygen job whose sink stores the key in a slot), CSR and SIGN (slot jobs), the OUTPUT part
 * of READ, and the bookkeeping of the CSR/SIGN job for the command loop. Called from the command
 * loop only. While a job that touches the key partition runs (KEEP, CSR, SIGN), the slot requests
 * answer BUSY: the partition has one user at a time, and it is the job's task.
 */
#include <string.h>

#include "app_internal.h"
#include "rsagen_flash.h"
#include "rsagen_os.h"

#if CONFIG_RSAGEN_KEY_SLOTS
#include "rsagen_mbedtls_compat.h"
#endif

#if CONFIG_RSAGEN_KEY_SLOTS

static uint8_t resp(uint8_t type) { return (uint8_t)(type | RSAGEN_PROTO_RESPONSE_FLAG); }

static const char *TAG = "slots";

static void send_slots_error(const rsagen_frame_t *f, rsagen_slots_status_t st)
{
    switch (st) {
    case SLOTS_E_NOT_FOUND: rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_SLOT_NOT_FOUND, "no such slot"); break;
    case SLOTS_E_EXISTS:
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_SLOT_EXISTS, "slot exists (set the replace flag)");
        break;
    case SLOTS_E_FULL: rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_SLOTS_FULL, "key partition full"); break;
    case SLOTS_E_BAD_NAME:
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "slot name: 1..31 of A-Z a-z 0-9 . _ -");
        break;
    case SLOTS_E_NO_STORAGE:
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NO_STORAGE, "no key partition in this flash");
        break;
    case SLOTS_E_IO: rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_STORAGE, "flash write or read failed"); break;
    default: rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_INTERNAL, "slot store error"); break;
    }
}

/* A str name at p[0 .. avail): length byte, then 1..31 valid characters. */
static bool take_name(const uint8_t *p, size_t avail, char out[RSAGEN_SLOT_NAME_MAX + 1], size_t *used)
{
    if (avail < 1 || p[0] > avail - 1u || !rsagen_slot_name_valid((const char *)p + 1, p[0])) return false;
    memcpy(out, p + 1, p[0]);
    out[p[0]] = '\0';
    *used = 1u + p[0];
    return true;
}

static uint8_t sjob_state_of(slot_job_state_t s)
{
    switch (s) {
    case SLOTJOB_STATE_DONE: return RSAGEN_STATE_DONE;
    case SLOTJOB_STATE_FAILED: return RSAGEN_STATE_FAILED;
    case SLOTJOB_STATE_CANCELLED: return RSAGEN_STATE_CANCELLED;
    default: return RSAGEN_STATE_RUNNING;
    }
}

/* A job's task is using the key partition right now. */
static bool partition_in_use(const app_t *app)
{
    if (rsagen_app_sjob_exists(app) && rsagen_app_sjob_state(app) == RSAGEN_STATE_RUNNING) return true;
    return app->job != NULL && app->job_kind == RSAGEN_JOB_KEEP && rsagen_app_job_state(app) == RSAGEN_STATE_RUNNING;
}

static bool any_job(const app_t *app) { return app->job != NULL || app->sjob != NULL; }

void rsagen_app_slots_init(app_t *app)
{
    rsagen_flash_t flash;
    if (rsagen_os_flash_keys_open(&flash) != 0) {
        app->slots_status = SLOTS_E_NO_STORAGE;
        OS_LOGW(TAG, "no key partition (type 0x%02x, subtype 0x%02x, \"%s\"): key slots unavailable",
                RSAGEN_FLASH_KEYS_TYPE, RSAGEN_FLASH_KEYS_SUBTYPE, RSAGEN_FLASH_KEYS_LABEL);
        return;
    }
    app->slots_status = rsagen_slots_mount(&app->slots, &flash);
    if (app->slots_status != SLOTS_OK) {
        OS_LOGW(TAG, "key partition of %u bytes is too small for key slots", (unsigned)flash.size);
        return;
    }
    const rsagen_slots_mount_stats_t *st = &app->slots.stats;
    OS_LOGI(TAG, "%u of %u key slots used, %u KiB partition, %s%s", rsagen_slots_count(&app->slots),
            rsagen_slots_capacity(&app->slots), (unsigned)(flash.size / 1024u),
            flash.encrypted ? "encrypted" : "not encrypted",
            rsagen_os_flash_encryption_enabled() ? " (flash encryption on)" : " (flash encryption off)");
    if (st->reclaimed > 0 || st->failed > 0 || st->foreign > 0) {
        OS_LOGW(TAG, "mount: %u sectors reclaimed (interrupted writes or replaced keys), %u failed, %u newer-format",
                st->reclaimed, st->failed, st->foreign);
    }
}

static uint16_t store_flags(const app_t *app)
{
    uint16_t fl = 0;
    if (rsagen_os_flash_encryption_enabled()) fl |= RSAGEN_STORE_FLASH_ENCRYPTION;
    if (rsagen_os_secure_boot_enabled()) fl |= RSAGEN_STORE_SECURE_BOOT;
    if (app->slots_status == SLOTS_OK) {
        fl |= RSAGEN_STORE_PARTITION;
        if (app->slots.flash.encrypted) fl |= RSAGEN_STORE_ENCRYPTED;
    }
    return fl;
}

void rsagen_app_hello_tail(const app_t *app, uint8_t *p)
{
    bool up = app->slots_status == SLOTS_OK;
    /* During a KEEP/CSR/SIGN job the index is the task's; the counts are still stable to read (the
     * task changes them only in rsagen_slots_store, a window of one record write). */
    rsagen_put_u16le(p + RSAGEN_HELLO_TAIL_OFF_STORE_FLAGS, store_flags(app));
    p[RSAGEN_HELLO_TAIL_OFF_SLOTS_USED] = (uint8_t)(up ? rsagen_slots_count(&app->slots) : 0u);
    p[RSAGEN_HELLO_TAIL_OFF_SLOTS_CAP] = (uint8_t)(up ? rsagen_slots_capacity(&app->slots) : 0u);
}

/* ---- list, info, delete ---------------------------------------------------------------------- */

static void handle_list(app_t *app, const rsagen_frame_t *f)
{
    unsigned first = f->length >= RSAGEN_SLOTLIST_REQ_LEN ? f->payload[RSAGEN_SLOTLIST_OFF_FIRST] : 0u;
    static uint8_t p[RSAGEN_PROTO_MAX_PAYLOAD];
    memset(p, 0, RSAGEN_SLOTLIST_FIXED_LEN);
    unsigned total = rsagen_slots_count(&app->slots);
    size_t n = RSAGEN_SLOTLIST_FIXED_LEN;
    unsigned count = 0;
    rsagen_slot_info_t info;
    for (unsigned i = first; rsagen_slots_at(&app->slots, i, &info); i++) {
        size_t name_len = strlen(info.name);
        size_t need = RSAGEN_SLOTENT_FIXED_LEN + 1u + name_len;
        if (n + need > sizeof p) break; /* the client asks again from first + count */
        uint8_t *e = p + n;
        memset(e, 0, RSAGEN_SLOTENT_FIXED_LEN);
        e[RSAGEN_SLOTENT_OFF_KEY_TYPE] = info.key_type;
        rsagen_put_u16le(e + RSAGEN_SLOTENT_OFF_BITS, info.bits);
        rsagen_put_u16le(e + RSAGEN_SLOTENT_OFF_PUB_LEN, info.pub_len);
        rsagen_put_u32le(e + RSAGEN_SLOTENT_OFF_SEQ, info.seq);
        n += RSAGEN_SLOTENT_FIXED_LEN + rsagen_put_str(e + RSAGEN_SLOTENT_OFF_NAME, info.name);
        count++;
    }
    p[RSAGEN_SLOTLIST_OFF_TOTAL] = (uint8_t)total;
    p[RSAGEN_SLOTLIST_OFF_FIRST_ECHO] = (uint8_t)first;
    p[RSAGEN_SLOTLIST_OFF_COUNT] = (uint8_t)count;
    rsagen_put_u16le(p + RSAGEN_SLOTLIST_OFF_FLAGS, store_flags(app));
    p[RSAGEN_SLOTLIST_OFF_CAPACITY] = (uint8_t)rsagen_slots_capacity(&app->slots);
    p[RSAGEN_SLOTLIST_OFF_FREE] = (uint8_t)rsagen_slots_free(&app->slots);
    rsagen_put_u32le(p + RSAGEN_SLOTLIST_OFF_PART_SIZE, app->slots.flash.size);
    rsagen_app_send(resp(f->type), f->request_id, p, n);
}

static void handle_info(app_t *app, const rsagen_frame_t *f)
{
    char name[RSAGEN_SLOT_NAME_MAX + 1];
    size_t used;
    if (!take_name(f->payload, f->length, name, &used)) {
        send_slots_error(f, SLOTS_E_BAD_NAME);
        return;
    }
    rsagen_slot_info_t info;
    rsagen_slots_status_t st = rsagen_slots_find(&app->slots, name, &info);
    static uint8_t p[RSAGEN_PROTO_MAX_PAYLOAD];
    size_t pub_at = RSAGEN_SLOTINFO_FIXED_LEN + 1u + strlen(name);
    size_t pub_len = 0;
    if (st == SLOTS_OK) st = rsagen_slots_read_pub(&app->slots, name, p + pub_at, sizeof p - pub_at, &pub_len);
    if (st != SLOTS_OK) {
        send_slots_error(f, st);
        return;
    }
    memset(p, 0, RSAGEN_SLOTINFO_FIXED_LEN);
    p[RSAGEN_SLOTINFO_OFF_KEY_TYPE] = info.key_type;
    rsagen_put_u16le(p + RSAGEN_SLOTINFO_OFF_BITS, info.bits);
    rsagen_put_u32le(p + RSAGEN_SLOTINFO_OFF_SEQ, info.seq);
    rsagen_put_u16le(p + RSAGEN_SLOTINFO_OFF_PUB_LEN, (uint16_t)pub_len);
    (void)rsagen_sha256(p + pub_at, pub_len, p + RSAGEN_SLOTINFO_OFF_PUB_SHA256);
    (void)rsagen_put_str(p + RSAGEN_SLOTINFO_OFF_NAME, name);
    rsagen_app_send(resp(f->type), f->request_id, p, pub_at + pub_len);
}

static void handle_delete(app_t *app, const rsagen_frame_t *f)
{
    char name[RSAGEN_SLOT_NAME_MAX + 1];
    size_t used;
    if (!take_name(f->payload, f->length, name, &used)) {
        send_slots_error(f, SLOTS_E_BAD_NAME);
        return;
    }
    uint32_t seq = 0;
    rsagen_slots_status_t st = rsagen_slots_delete(&app->slots, name, &seq);
    if (st != SLOTS_OK) {
        send_slots_error(f, st);
        return;
    }
    OS_LOGI(TAG, "slot \"%s\" deleted: record %u zeroized and erased", name, (unsigned)seq);
    uint8_t p[RSAGEN_SLOTDEL_FIXED_LEN + 1 + RSAGEN_SLOT_NAME_MAX];
    rsagen_put_u32le(p + RSAGEN_SLOTDEL_OFF_SEQ, seq);
    size_t n = RSAGEN_SLOTDEL_FIXED_LEN + rsagen_put_str(p + RSAGEN_SLOTDEL_OFF_NAME, name);
    rsagen_app_send(resp(f->type), f->request_id, p, n);
}

/* ---- jobs: KEEP, CSR, SIGN ------------------------------------------------------------------- */

/* A resend of the accepted KEEP/CSR/SIGN (same id, type and payload while its job exists) gets the
 * same answer again (docs/protocol.md section 4). */
static bool answer_duplicate(const app_t *app, const rsagen_frame_t *f)
{
    if (!any_job(app) || app->slot_req_id != f->request_id || app->slot_req_type != f->type) return false;
    uint8_t sha[32];
    (void)rsagen_sha256(f->payload, f->length, sha);
    if (memcmp(sha, app->slot_req_sha256, sizeof sha) != 0) return false;
    uint8_t p[RSAGEN_KEYGEN_RESP_LEN];
    rsagen_put_u32le(p, app->slot_req_job_id);
    rsagen_app_send(resp(f->type), f->request_id, p, sizeof p);
    return true;
}

static void remember_request(app_t *app, const rsagen_frame_t *f, uint32_t job_id)
{
    app->slot_req_id = f->request_id;
    app->slot_req_type = f->type;
    (void)rsagen_sha256(f->payload, f->length, app->slot_req_sha256);
    app->slot_req_job_id = job_id;
}

/* The keygen job's sink for KEEP: runs in the job's task, while the loop refuses slot requests. */
static int keep_sink(void *ctx, unsigned bits, const uint8_t *priv, size_t priv_len, const uint8_t *pub,
                     size_t pub_len)
{
    app_t *app = ctx;
    rsagen_slots_status_t st = rsagen_slots_store(&app->slots, app->keep_name, RSAGEN_SLOT_KEY_RSA, (uint16_t)bits,
                                                  priv, priv_len, pub, pub_len, app->keep_replace);
    return st == SLOTS_OK ? 0 : SLOT_JOB_ERR_SLOT(st);
}

static void handle_keep(app_t *app, const rsagen_frame_t *f)
{
    char name[RSAGEN_SLOT_NAME_MAX + 1];
    size_t used;
    if (f->length < RSAGEN_KEEP_FIXED_LEN) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "keep payload too short");
        return;
    }
    if (!take_name(f->payload + RSAGEN_KEEP_OFF_NAME, f->length - RSAGEN_KEEP_OFF_NAME, name, &used)) {
        send_slots_error(f, SLOTS_E_BAD_NAME);
        return;
    }
    bool replace = (f->payload[RSAGEN_KEEP_OFF_FLAGS] & RSAGEN_KEEP_FLAG_REPLACE) != 0;
    /* Refused before minutes of generation, not after: the name, an existing slot, the space. */
    rsagen_slots_status_t st = rsagen_slots_check_store(&app->slots, name, replace);
    if (st != SLOTS_OK) {
        send_slots_error(f, st);
        return;
    }
    memcpy(app->keep_name, name, sizeof app->keep_name);
    app->keep_replace = replace;
    unsigned bits = rsagen_get_u16le(f->payload + RSAGEN_KEEP_OFF_BITS);
    uint32_t exponent = rsagen_get_u32le(f->payload + RSAGEN_KEEP_OFF_EXPONENT);
    uint32_t id = rsagen_app_start_keygen(app, f, bits, exponent, keep_sink, RSAGEN_JOB_KEEP);
    if (id != 0) remember_request(app, f, id);
}

static void start_slot_job(app_t *app, const rsagen_frame_t *f, const slot_job_request_t *req)
{
    rsagen_slot_info_t info;
    rsagen_slots_status_t fst = rsagen_slots_find(&app->slots, req->slot, &info);
    if (fst != SLOTS_OK) {
        send_slots_error(f, fst);
        return;
    }
    slot_job_t *job = NULL;
    slot_job_status_t st = rsagen_slot_job_create(&job, req, &app->slots, app->next_job_id);
    if (st == SLOTJOB_OK) {
        st = rsagen_slot_job_start(job);
        if (st != SLOTJOB_OK) {
            rsagen_slot_job_destroy(job);
            job = NULL;
        }
    }
    switch (st) {
    case SLOTJOB_OK: break;
    case SLOTJOB_E_SUBJECT:
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "subject not understood (e.g. CN=x,O=y)");
        return;
    case SLOTJOB_E_ARGS:
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "bad SAN, scheme or slot key");
        return;
    case SLOTJOB_E_NO_MEM:
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NO_MEM, "out of memory for the job");
        return;
    default: rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_INTERNAL, "entropy source failed"); return;
    }
    uint32_t id = app->next_job_id;
    app->sjob = job;
    app->sjob_final_seen = false;
    app->last_progress_ms = rsagen_os_ms();
    app->next_job_id = app->next_job_id == UINT32_MAX ? 1 : app->next_job_id + 1;
    remember_request(app, f, id);
    OS_LOGI(TAG, "job %u: %s with the key of slot \"%s\"", (unsigned)id,
            req->kind == SLOT_JOB_CSR ? "certificate signing request" : "signature", req->slot);
    uint8_t p[RSAGEN_KEYGEN_RESP_LEN];
    rsagen_put_u32le(p, id);
    rsagen_app_send(resp(f->type), f->request_id, p, sizeof p);
}

static void handle_csr(app_t *app, const rsagen_frame_t *f)
{
#if CONFIG_RSAGEN_SLOT_CSR
    const uint8_t *p = f->payload;
    size_t len = f->length;
    char name[RSAGEN_SLOT_NAME_MAX + 1];
    size_t used;
    if (len < RSAGEN_CSR_FIXED_LEN || p[RSAGEN_CSR_OFF_MD] != RSAGEN_HASH_SHA256) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "csr payload too short, or not SHA-256");
        return;
    }
    if (!take_name(p + RSAGEN_CSR_OFF_NAME, len - RSAGEN_CSR_OFF_NAME, name, &used)) {
        send_slots_error(f, SLOTS_E_BAD_NAME);
        return;
    }
    size_t at = RSAGEN_CSR_OFF_NAME + used;
    size_t subject_len = rsagen_get_u16le(p + RSAGEN_CSR_OFF_SUBJECT_LEN);
    bool ok = subject_len >= 1 && subject_len <= RSAGEN_CSR_MAX_SUBJECT && at + subject_len + 1 <= len;
    for (size_t i = 0; ok && i < subject_len; i++) ok = p[at + i] >= 0x20 && p[at + i] <= 0x7E;
    if (!ok) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "subject: 1..512 printable ASCII");
        return;
    }
    slot_san_t sans[RSAGEN_CSR_MAX_SANS];
    slot_job_request_t req = {.kind = SLOT_JOB_CSR, .slot = name, .subject = (const char *)p + at,
                              .subject_len = subject_len, .sans = sans};
    at += subject_len;
    unsigned count = p[at++];
    ok = count <= RSAGEN_CSR_MAX_SANS;
    for (unsigned i = 0; ok && i < count; i++) {
        ok = at + 2 <= len && at + 2u + p[at + 1] <= len;
        if (!ok) break;
        sans[i] = (slot_san_t){.type = p[at], .len = p[at + 1], .value = p + at + 2};
        at += 2u + p[at + 1];
    }
    if (!ok) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "SAN list truncated or over 16");
        return;
    }
    req.san_count = count;
    start_slot_job(app, f, &req);
#else
    (void)app;
    rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_UNSUPPORTED, "CSR not compiled in");
#endif
}

static void handle_sign(app_t *app, const rsagen_frame_t *f)
{
    char name[RSAGEN_SLOT_NAME_MAX + 1];
    size_t used;
    if (f->length < RSAGEN_SIGN_FIXED_LEN || f->payload[RSAGEN_SIGN_OFF_HASH] != RSAGEN_HASH_SHA256 ||
        f->payload[RSAGEN_SIGN_OFF_SCHEME] > RSAGEN_SIGN_PSS) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BAD_ARGS, "sign: scheme 0|1, SHA-256 digest");
        return;
    }
    if (!take_name(f->payload + RSAGEN_SIGN_OFF_NAME, f->length - RSAGEN_SIGN_OFF_NAME, name, &used)) {
        send_slots_error(f, SLOTS_E_BAD_NAME);
        return;
    }
    slot_job_request_t req = {.kind = SLOT_JOB_SIGN, .slot = name,
                              .scheme = f->payload[RSAGEN_SIGN_OFF_SCHEME] == RSAGEN_SIGN_PSS ? SLOT_SIGN_PSS
                                                                                             : SLOT_SIGN_PKCS1_V15};
    memcpy(req.digest, f->payload + RSAGEN_SIGN_OFF_DIGEST, sizeof req.digest);
    start_slot_job(app, f, &req);
}

void rsagen_app_handle_slot_request(app_t *app, const rsagen_frame_t *f)
{
    bool starts_job = f->type == RSAGEN_MSG_KEEP || f->type == RSAGEN_MSG_CSR || f->type == RSAGEN_MSG_SIGN;
    if (starts_job && answer_duplicate(app, f)) return;
    if (app->slots_status != SLOTS_OK) {
        send_slots_error(f, app->slots_status);
        return;
    }
    if (starts_job ? any_job(app) : partition_in_use(app)) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_BUSY,
                              starts_job ? "job exists" : "a job is using the key partition");
        return;
    }
    switch (f->type) {
    case RSAGEN_MSG_SLOT_LIST: handle_list(app, f); break;
    case RSAGEN_MSG_SLOT_INFO: handle_info(app, f); break;
    case RSAGEN_MSG_SLOT_DELETE: handle_delete(app, f); break;
    case RSAGEN_MSG_KEEP: handle_keep(app, f); break;
    case RSAGEN_MSG_CSR: handle_csr(app, f); break;
    default: handle_sign(app, f); break;
    }
}

/* ---- the CSR/SIGN job in the command loop ---------------------------------------------------- */

bool rsagen_app_sjob_exists(const app_t *app) { return app->sjob != NULL; }

uint8_t rsagen_app_sjob_state(const app_t *app)
{
    if (app->sjob == NULL) return RSAGEN_STATE_IDLE;
    slot_job_info_t info;
    rsagen_slot_job_info(app->sjob, &info);
    return sjob_state_of(info.state);
}

void rsagen_app_fill_sjob_status(const app_t *app, uint8_t *p)
{
    slot_job_info_t info;
    rsagen_slot_job_info(app->sjob, &info);
    p[RSAGEN_STATUS_OFF_STATE] = sjob_state_of(info.state);
    p[RSAGEN_STATUS_OFF_KIND] = info.kind == SLOT_JOB_CSR ? RSAGEN_JOB_CSR : RSAGEN_JOB_SIGN;
    rsagen_put_u16le(p + RSAGEN_STATUS_OFF_BITS, (uint16_t)info.bits);
    rsagen_put_u32le(p + RSAGEN_STATUS_OFF_JOB_ID, info.id);
    rsagen_put_u32le(p + RSAGEN_STATUS_OFF_ELAPSED_MS, info.elapsed_ms);
    rsagen_put_u32le(p + RSAGEN_STATUS_OFF_RNG_CALLS, info.rng_calls);
    if (info.state == SLOTJOB_STATE_FAILED) rsagen_put_u32le(p + RSAGEN_STATUS_OFF_MBEDTLS_ERR, (uint32_t)info.mbedtls_err);
    if (info.state == SLOTJOB_STATE_DONE && app->sjob_final_seen) {
        rsagen_put_u32le(p + RSAGEN_STATUS_OFF_OUT_LEN, (uint32_t)info.out_len);
        memcpy(p + RSAGEN_STATUS_OFF_OUT_SHA256, app->out_sha256, 32);
    }
}

void rsagen_app_poll_sjob(app_t *app)
{
    if (app->sjob == NULL || app->sjob_final_seen) return;
    slot_job_info_t info;
    if (!rsagen_slot_job_finished(app->sjob)) {
        rsagen_slot_job_supervise(app->sjob);
        if (rsagen_app_progress_due(app)) {
            rsagen_slot_job_info(app->sjob, &info);
            rsagen_app_send_progress(info.id, info.elapsed_ms, info.rng_calls, info.bits);
        }
        return;
    }
    app->sjob_final_seen = true;
    rsagen_slot_job_info(app->sjob, &info);
    size_t len = 0;
    const uint8_t *out = rsagen_slot_job_output(app->sjob, &len);
    if (out != NULL) (void)rsagen_sha256(out, len, app->out_sha256);
    const char *what = info.kind == SLOT_JOB_CSR ? "CSR" : "signature";
    if (info.state == SLOTJOB_STATE_DONE) {
        OS_LOGI(TAG, "job %u: %s of %u bytes in %u ms (%u-bit key)", (unsigned)info.id, what, (unsigned)len,
                (unsigned)info.elapsed_ms, info.bits);
    } else {
        OS_LOGW(TAG, "job %u: %s %s after %u ms (error -0x%04X)", (unsigned)info.id, what,
                info.state == SLOTJOB_STATE_CANCELLED ? "cancelled" : "failed", (unsigned)info.elapsed_ms,
                (unsigned)-info.mbedtls_err);
    }
#ifdef ESP_PLATFORM
    OS_LOGI(TAG, "slot job stack high-water mark: %u bytes free", (unsigned)info.stack_free_min);
#endif
    if (info.state == SLOTJOB_STATE_DONE || info.state == SLOTJOB_STATE_FAILED) {
        uint8_t p[RSAGEN_STATUS_LEN];
        rsagen_app_fill_status(app, p);
        rsagen_app_send(info.state == SLOTJOB_STATE_DONE ? RSAGEN_EVT_DONE : RSAGEN_EVT_FAILED, 0, p, sizeof p);
    }
}

uint8_t rsagen_app_free_sjob(app_t *app, uint32_t *job_id)
{
    *job_id = 0;
    if (app->sjob == NULL) return RSAGEN_STATE_IDLE;
    uint8_t prev = rsagen_app_sjob_state(app);
    slot_job_info_t info;
    rsagen_slot_job_info(app->sjob, &info);
    *job_id = info.id;
    rsagen_slot_job_destroy(app->sjob); /* cancel, join the task, zeroize, free */
    app->sjob = NULL;
    app->sjob_final_seen = false;
    memset(app->out_sha256, 0, sizeof app->out_sha256);
    app->slot_req_id = 0;
    return prev;
}

void rsagen_app_read_output(app_t *app, const rsagen_frame_t *f, uint32_t offset, uint16_t want)
{
    if (app->sjob == NULL) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NO_JOB, "no CSR or SIGN job");
        return;
    }
    rsagen_app_poll_sjob(app);
    size_t len = 0;
    const uint8_t *out = app->sjob_final_seen ? rsagen_slot_job_output(app->sjob, &len) : NULL;
    if (out == NULL) {
        rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NOT_READY, "job not done");
        return;
    }
    rsagen_app_send_chunk(f, out, len, offset, want);
}

#else /* !CONFIG_RSAGEN_KEY_SLOTS */

void rsagen_app_slots_init(app_t *app) { (void)app; }

void rsagen_app_handle_slot_request(app_t *app, const rsagen_frame_t *f)
{
    (void)app;
    rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_UNSUPPORTED, "key slots not compiled in");
}

void rsagen_app_hello_tail(const app_t *app, uint8_t *p)
{
    (void)app;
    memset(p, 0, RSAGEN_HELLO_TAIL_OFF_RESET_REASON);
    rsagen_put_u16le(p + RSAGEN_HELLO_TAIL_OFF_STORE_FLAGS,
                     (uint16_t)((rsagen_os_flash_encryption_enabled() ? RSAGEN_STORE_FLASH_ENCRYPTION : 0u) |
                                (rsagen_os_secure_boot_enabled() ? RSAGEN_STORE_SECURE_BOOT : 0u)));
}

bool rsagen_app_sjob_exists(const app_t *app)
{
    (void)app;
    return false;
}

uint8_t rsagen_app_sjob_state(const app_t *app)
{
    (void)app;
    return RSAGEN_STATE_IDLE;
}

void rsagen_app_poll_sjob(app_t *app) { (void)app; }

uint8_t rsagen_app_free_sjob(app_t *app, uint32_t *job_id)
{
    (void)app;
    *job_id = 0;
    return RSAGEN_STATE_IDLE;
}

void rsagen_app_fill_sjob_status(const app_t *app, uint8_t *p)
{
    (void)app;
    (void)p;
}

void rsagen_app_read_output(app_t *app, const rsagen_frame_t *f, uint32_t offset, uint16_t want)
{
    (void)app;
    (void)offset;
    (void)want;
    rsagen_app_send_error(f->request_id, f->type, RSAGEN_ERR_NO_JOB, "no CSR or SIGN job (key slots not compiled in)");
}

#endif
