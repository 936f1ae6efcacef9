/* Facts about the running platform that the command loop reports (platform_esp.c / host_main.c). */
#ifndef RSAGEN_PLATFORM_H
#define RSAGEN_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

const char *platform_target(void);      /* "esp32", "esp32c3", ... */
const char *platform_fw_version(void);  /* esp_app_desc_t.version, or the host build's version */
const char *platform_idf_version(void); /* esp_get_idf_version(), or "host" */
uint32_t platform_reset_reason(void);   /* esp_reset_reason_t value */
bool platform_download_reboot_supported(void);
bool platform_is_host(void);

#endif /* RSAGEN_PLATFORM_H */
