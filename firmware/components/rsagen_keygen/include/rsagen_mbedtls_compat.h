/*
 * The few Mbed TLS API differences between 2.28 (Debian's libmbedtls-dev, used by the host build)
 * and 3.x (ESP-IDF v5.x ships 3.2.1 .. 3.6.x). Facts: Mbed TLS include/mbedtls/rsa.h and pk.h at
 * v2.28.3 and v3.6.6, and docs/3.0-migration-guide.md. Both paths are compiled: 2.28 by the host
 * build, 3.x by the ESP-IDF build and a -fsyntax-only check against the v3.6 headers.
 */
#ifndef RSAGEN_MBEDTLS_COMPAT_H
#define RSAGEN_MBEDTLS_COMPAT_H

#include "mbedtls/version.h"

#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/rsa.h"
#include "mbedtls/sha256.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define RSAGEN_MBEDTLS_3 1
#else
#define RSAGEN_MBEDTLS_3 0
#endif

/* Private struct members need MBEDTLS_PRIVATE() in 3.x; the macro does not exist in 2.28. */
#ifndef MBEDTLS_PRIVATE
#define MBEDTLS_PRIVATE(member) member
#endif

typedef int (*rsagen_rng_fn)(void *p_rng, unsigned char *out, size_t len);

/* SHA-256 one-shot: mbedtls_sha256_ret() in 2.28 (mbedtls_sha256() there is deprecated and returns
 * void), mbedtls_sha256() returning int in 3.x. */
static inline int rsagen_sha256(const unsigned char *in, size_t len, unsigned char out[32])
{
#if RSAGEN_MBEDTLS_3
    return mbedtls_sha256(in, len, out, 0);
#else
    return mbedtls_sha256_ret(in, len, out, 0);
#endif
}

/* mbedtls_pk_parse_key: 3.x adds the RNG arguments (used for blinding). */
static inline int rsagen_pk_parse_key(mbedtls_pk_context *pk, const unsigned char *der, size_t len,
                                      rsagen_rng_fn f_rng, void *p_rng)
{
#if RSAGEN_MBEDTLS_3
    return mbedtls_pk_parse_key(pk, der, len, NULL, 0, f_rng, p_rng);
#else
    (void)f_rng;
    (void)p_rng;
    return mbedtls_pk_parse_key(pk, der, len, NULL, 0);
#endif
}

/* mbedtls_pk_check_pair: 3.x adds the RNG arguments. */
static inline int rsagen_pk_check_pair(const mbedtls_pk_context *pub, const mbedtls_pk_context *prv,
                                       rsagen_rng_fn f_rng, void *p_rng)
{
#if RSAGEN_MBEDTLS_3
    return mbedtls_pk_check_pair(pub, prv, f_rng, p_rng);
#else
    (void)f_rng;
    (void)p_rng;
    return mbedtls_pk_check_pair(pub, prv);
#endif
}

/* mbedtls_pk_sign: 3.x adds the signature buffer size. */
static inline int rsagen_pk_sign(mbedtls_pk_context *pk, mbedtls_md_type_t md, const unsigned char *hash,
                                 size_t hash_len, unsigned char *sig, size_t sig_size, size_t *sig_len,
                                 rsagen_rng_fn f_rng, void *p_rng)
{
#if RSAGEN_MBEDTLS_3
    return mbedtls_pk_sign(pk, md, hash, hash_len, sig, sig_size, sig_len, f_rng, p_rng);
#else
    (void)sig_size;
    return mbedtls_pk_sign(pk, md, hash, hash_len, sig, sig_len, f_rng, p_rng);
#endif
}

/* mbedtls_rsa_set_padding: void in 2.28, int in 3.x. */
static inline int rsagen_rsa_set_padding(mbedtls_rsa_context *rsa, int padding, mbedtls_md_type_t hash_id)
{
#if RSAGEN_MBEDTLS_3
    return mbedtls_rsa_set_padding(rsa, padding, hash_id);
#else
    mbedtls_rsa_set_padding(rsa, padding, (int)hash_id);
    return 0;
#endif
}

/* RSASSA-PKCS1-v1_5 over a SHA-256 digest: 2.28 has the (deprecated) mode argument. sig gets
 * mbedtls_rsa_get_len(rsa) bytes. */
static inline int rsagen_rsa_pkcs1_v15_sign_sha256(mbedtls_rsa_context *rsa, rsagen_rng_fn f_rng, void *p_rng,
                                                   const unsigned char hash[32], unsigned char *sig)
{
#if RSAGEN_MBEDTLS_3
    return mbedtls_rsa_rsassa_pkcs1_v15_sign(rsa, f_rng, p_rng, MBEDTLS_MD_SHA256, 32, hash, sig);
#else
    return mbedtls_rsa_rsassa_pkcs1_v15_sign(rsa, f_rng, p_rng, MBEDTLS_RSA_PRIVATE, MBEDTLS_MD_SHA256, 32, hash,
                                             sig);
#endif
}

/* Key length in bytes of an RSA context (ctx->len is private in 3.x; the accessor exists in both). */
static inline size_t rsagen_rsa_len(const mbedtls_rsa_context *rsa) { return mbedtls_rsa_get_len(rsa); }

#endif /* RSAGEN_MBEDTLS_COMPAT_H */
