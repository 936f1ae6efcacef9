/*
 * The SIGN job's work: an RSA signature over the SHA-256 digest the host sent, with the slot's key.
 *  - RSASSA-PKCS1-v1_5 (RFC 8017 8.2): EMSA-PKCS1-v1_5 with the SHA-256 DigestInfo.
 *  - RSASSA-PSS (RFC 8017 8.1): EMSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (the hash
 *    length, the common choice and what `openssl dgst -sigopt rsa_pss_saltlen:digest` checks).
 * Both versions of Mbed TLS take the same mbedtls_rsa_rsassa_pss_sign_ext call; the padding mode and
 * MGF1 hash are set on the context first (3.x checks it, 2.28 takes the MGF1 hash from it).
 */
#include "slot_job_internal.h"

int rsagen_sign_job_run(slot_job_t *job)
{
    mbedtls_rsa_context *rsa = mbedtls_pk_rsa(job->pk);
    size_t n = rsagen_rsa_len(rsa);
    if (n > job->out_cap) return MBEDTLS_ERR_RSA_OUTPUT_TOO_LARGE;
    int ret;
    if (job->scheme == SLOT_SIGN_PSS) {
        ret = rsagen_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
        if (ret == 0) {
            ret = mbedtls_rsa_rsassa_pss_sign_ext(rsa, rsagen_slot_job_rng, job, MBEDTLS_MD_SHA256, 32, job->digest,
                                                  32, job->out);
        }
    } else {
        ret = rsagen_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE);
        if (ret == 0) ret = rsagen_rsa_pkcs1_v15_sign_sha256(rsa, rsagen_slot_job_rng, job, job->digest, job->out);
    }
    if (ret == 0) job->out_len = n;
    return ret;
}
