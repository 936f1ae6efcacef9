/*
 * Host console: stdin/stdout as raw bytes (no stdio buffering, no CRLF translation). Every write is
 * one unit under a mutex, so a log line from the watchdog monitor never lands inside a frame.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "console.h"
#include "os_posix.h"

static pthread_mutex_t s_out_mu = PTHREAD_MUTEX_INITIALIZER;

void rsagen_console_write(const uint8_t *bytes, size_t len)
{
    pthread_mutex_lock(&s_out_mu);
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, bytes, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            break; /* host gone (EPIPE): the read side will see EOF */
        }
        bytes += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&s_out_mu);
}

int rsagen_console_read(uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    rsagen_os_posix_block_begin(); /* waiting for input: this task is blocked, IDLE may run */
    int r;
    do {
        r = poll(&pfd, 1, (int)timeout_ms);
    } while (r < 0 && errno == EINTR);
    rsagen_os_posix_block_end();
    if (r < 0) return -1;
    if (r == 0) return 0;
    ssize_t n;
    do {
        n = read(STDIN_FILENO, buf, cap);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return -1;
    return (int)n;
}
