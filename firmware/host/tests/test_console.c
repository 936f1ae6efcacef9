/* Scripted console and platform facts for the C test runner (see test_console.h). */
#include "test_console.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "console.h"
#include "os_posix.h"
#include "platform.h"
#include "rsagen_os.h"
#include "rsagen_proto.h"

#define IN_CAP (1u << 20)
#define MAX_FRAMES 64
#define TEXT_CAP (1u << 16)

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_cond = PTHREAD_COND_INITIALIZER;
static uint8_t s_in[IN_CAP];
static size_t s_in_head, s_in_len;
static bool s_closed;
static tc_frame_t s_frames[MAX_FRAMES];
static int s_nframes;
static unsigned s_frames_seen;
static char s_text[TEXT_CAP];
static size_t s_text_len;
static rsagen_decoder_t s_out_dec;
static bool s_dec_ready;

const char *rsagen_platform_target(void) { return "esp32c3"; }
const char *rsagen_platform_fw_version(void) { return "0.1.0-test"; }
const char *rsagen_platform_idf_version(void) { return "host"; }
uint32_t rsagen_platform_reset_reason(void) { return 1; }
bool rsagen_platform_download_reboot_supported(void) { return true; }
bool rsagen_platform_is_host(void) { return true; }

static void abs_deadline(struct timespec *ts, uint32_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000u;
    ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void tc_push(const uint8_t *bytes, size_t len)
{
    pthread_mutex_lock(&s_mu);
    for (size_t i = 0; i < len && s_in_len < IN_CAP; i++) {
        s_in[(s_in_head + s_in_len) % IN_CAP] = bytes[i];
        s_in_len++;
    }
    pthread_cond_broadcast(&s_cond);
    pthread_mutex_unlock(&s_mu);
}

void tc_close(void)
{
    pthread_mutex_lock(&s_mu);
    s_closed = true;
    pthread_cond_broadcast(&s_cond);
    pthread_mutex_unlock(&s_mu);
}

void tc_send(uint8_t type, uint16_t id, const uint8_t *payload, size_t len)
{
    uint8_t f[RSAGEN_PROTO_MAX_FRAME];
    size_t n = rsagen_proto_encode(f, sizeof f, type, id, payload, len);
    tc_push(f, n);
}

int rsagen_console_read(uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    rsagen_os_posix_block_begin();
    pthread_mutex_lock(&s_mu);
    if (s_in_len == 0 && !s_closed) {
        struct timespec ts;
        abs_deadline(&ts, timeout_ms);
        pthread_cond_timedwait(&s_cond, &s_mu, &ts);
    }
    int n = 0;
    if (s_in_len == 0 && s_closed) {
        n = -1;
    } else {
        while ((size_t)n < cap && s_in_len > 0) {
            buf[n++] = s_in[s_in_head];
            s_in_head = (s_in_head + 1) % IN_CAP;
            s_in_len--;
        }
    }
    pthread_mutex_unlock(&s_mu);
    rsagen_os_posix_block_end();
    return n;
}

/* Decoder callbacks run under s_mu (rsagen_console_write holds it). */
static void on_frame(void *ctx, const rsagen_frame_t *f)
{
    (void)ctx;
    s_frames_seen++;
    if (s_nframes == MAX_FRAMES) { /* drop the oldest */
        memmove(&s_frames[0], &s_frames[1], sizeof s_frames[0] * (MAX_FRAMES - 1));
        s_nframes--;
    }
    tc_frame_t *t = &s_frames[s_nframes++];
    t->version = f->version;
    t->type = f->type;
    t->request_id = f->request_id;
    t->length = f->length;
    memcpy(t->payload, f->payload, f->length);
}

static void on_text(void *ctx, const uint8_t *b, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        if (s_text_len == TEXT_CAP - 1) { /* keep the newest half */
            memmove(s_text, s_text + TEXT_CAP / 2, TEXT_CAP / 2);
            s_text_len -= TEXT_CAP / 2;
        }
        s_text[s_text_len++] = (char)b[i];
    }
    s_text[s_text_len] = '\0';
}

void rsagen_console_write(const uint8_t *bytes, size_t len)
{
    pthread_mutex_lock(&s_mu);
    if (!s_dec_ready) {
        rsagen_decoder_init(&s_out_dec, on_frame, on_text, NULL);
        s_dec_ready = true;
    }
    rsagen_decoder_feed(&s_out_dec, bytes, len);
    pthread_cond_broadcast(&s_cond);
    pthread_mutex_unlock(&s_mu);
}

static bool take_frame(bool (*match)(const tc_frame_t *, uint8_t, uint16_t), uint8_t type, uint16_t id,
                       uint32_t timeout_ms, tc_frame_t *out)
{
    struct timespec ts;
    abs_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&s_mu);
    for (;;) {
        for (int i = 0; i < s_nframes; i++) {
            if (match(&s_frames[i], type, id)) {
                *out = s_frames[i];
                memmove(&s_frames[i], &s_frames[i + 1], sizeof s_frames[0] * (size_t)(s_nframes - i - 1));
                s_nframes--;
                pthread_mutex_unlock(&s_mu);
                return true;
            }
        }
        if (pthread_cond_timedwait(&s_cond, &s_mu, &ts) != 0) break;
    }
    pthread_mutex_unlock(&s_mu);
    return false;
}

static bool match_exact(const tc_frame_t *f, uint8_t type, uint16_t id)
{
    return f->type == type && f->request_id == id;
}

static bool match_answer(const tc_frame_t *f, uint8_t type, uint16_t id)
{
    (void)type;
    return f->request_id == id && (f->type & RSAGEN_PROTO_RESPONSE_FLAG) != 0;
}

bool tc_wait_frame(uint8_t type, uint16_t id, uint32_t timeout_ms, tc_frame_t *out)
{
    return take_frame(match_exact, type, id, timeout_ms, out);
}

bool tc_wait_answer(uint16_t id, uint32_t timeout_ms, tc_frame_t *out)
{
    return take_frame(match_answer, 0, id, timeout_ms, out);
}

bool tc_text_contains(const char *s)
{
    pthread_mutex_lock(&s_mu);
    bool r = strstr(s_text, s) != NULL;
    pthread_mutex_unlock(&s_mu);
    return r;
}

unsigned tc_frames_seen(void)
{
    pthread_mutex_lock(&s_mu);
    unsigned n = s_frames_seen;
    pthread_mutex_unlock(&s_mu);
    return n;
}
