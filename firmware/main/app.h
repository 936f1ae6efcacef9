/* The firmware's command loop (cmd_loop.c) and its message handlers (handlers.c). */
#ifndef RSAGEN_APP_H
#define RSAGEN_APP_H

/* Why rsagen_app_run returned. The values are the host build's exit statuses (contract C2). */
typedef enum {
    APP_EXIT_CONSOLE_CLOSED = 0,
    APP_EXIT_REBOOT = 3,
    APP_EXIT_REBOOT_DOWNLOAD = 4,
} app_exit_t;

/* Sends the BOOT event, then serves requests until the console closes or a reboot is requested.
 * Any job is cancelled, joined and freed before it returns. */
app_exit_t rsagen_app_run(void);

/* Logs the one-line summary of this build ("rsagen 0.1.0 on esp32c3, mbedtls ..."). */
void rsagen_app_log_banner(void);

#endif /* RSAGEN_APP_H */
