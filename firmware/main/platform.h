/* Facts about the running platform that the command loop reports (platform_esp.c / host_main.c). */
#ifndef RSAGEN_PLATFORM_H
#define RSAGEN_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

const char *rsagen_platform_target(void);      /* "esp32", "esp32c3", ... */
const char *rsagen_platform_fw_version(void);  /* esp_app_desc_t.version, or the host build's version */
const char *rsagen_platform_idf_version(void); /* esp_get_idf_version(), or "host" */
uint32_t rsagen_platform_reset_reason(void);   /* esp_reset_reason_t value */
bool rsagen_platform_download_reboot_supported(void);
bool rsagen_platform_is_host(void);

#endif /* RSAGEN_PLATFORM_H */
