/*
 * Build configuration of the firmware. On ESP-IDF the values come from Kconfig (sdkconfig.h); the
 * host build defines the same CONFIG_ macros from CMake options (firmware/host/CMakeLists.txt):
 *   -DRSAGEN_CRYPTO_EXTRA=ON|OFF   -> CONFIG_TOIT_CRYPTO_EXTRA
 *   -DRSAGEN_INLINE_KEYGEN=ON|OFF  -> CONFIG_RSAGEN_INLINE_KEYGEN
 *   -DRSAGEN_KEY_SLOTS=ON|OFF      -> CONFIG_RSAGEN_KEY_SLOTS
 *   -DRSAGEN_SLOT_CSR=ON|OFF       -> CONFIG_RSAGEN_SLOT_CSR
 */
#ifndef RSAGEN_CONFIG_H
#define RSAGEN_CONFIG_H

#ifdef ESP_PLATFORM
#include "sdkconfig.h"
#endif

#if defined(CONFIG_RSAGEN_INLINE_KEYGEN) && !defined(CONFIG_TOIT_CRYPTO_EXTRA)
#error "CONFIG_RSAGEN_INLINE_KEYGEN needs CONFIG_TOIT_CRYPTO_EXTRA"
#endif

#if defined(CONFIG_RSAGEN_KEY_SLOTS) && !defined(CONFIG_TOIT_CRYPTO_EXTRA)
#error "CONFIG_RSAGEN_KEY_SLOTS needs CONFIG_TOIT_CRYPTO_EXTRA"
#endif
#if defined(CONFIG_RSAGEN_SLOT_CSR) && !defined(CONFIG_RSAGEN_KEY_SLOTS)
#error "CONFIG_RSAGEN_SLOT_CSR needs CONFIG_RSAGEN_KEY_SLOTS"
#endif

#endif /* RSAGEN_CONFIG_H */
